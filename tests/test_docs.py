"""The documents in docs/ stay true to the code they describe.

- ``docs/API.md``'s operation table is exactly what ``python -m gateway.apidoc`` renders from
  the committed OpenAPI document;
- ``docs/EVENTS.md`` names every event of the AsyncAPI catalogue beside it;
- ``docs/OPERATIONS.md`` names every ``ESEAL_*`` variable the code reads: each field of every
  service's settings class (pydantic-settings reads ``ESEAL_<FIELD>``) and every name the
  code, scripts, Makefile and Dockerfile spell out.

Each check is also run against a document with something missing, to prove it can fail.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from gateway import apidoc

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SETTINGS_MODULES = ("identity.config", "agents.config", "certs.config", "seals.config",
                    "stamping.config", "notify.config", "gateway.config")
_VARIABLE = re.compile(r"\bESEAL_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")


# --- docs/API.md ----------------------------------------------------------------------------

def test_api_md_operation_table_matches_the_openapi_document() -> None:
    current = apidoc.API_DOC.read_text(encoding="utf-8")
    expected = apidoc.expected(current, apidoc.OPENAPI.read_text(encoding="utf-8"))
    assert current == expected, "docs/API.md is stale: run `python -m gateway.apidoc`"


def test_api_md_check_notices_a_new_operation() -> None:
    current = apidoc.API_DOC.read_text(encoding="utf-8")
    document = json.loads(apidoc.OPENAPI.read_text(encoding="utf-8"))
    document["paths"]["/api/v1/brand-new"] = {"get": {
        "summary": "an operation the document gained", "tags": ["x"], "security": [],
        "responses": {"418": {"description": "teapot (`i_am_a_teapot`)"}}}}
    expected = apidoc.expected(current, json.dumps(document))
    assert expected != current
    assert "| `GET` | `/api/v1/brand-new` | an operation the document gained | public " \
           "| 418 `i_am_a_teapot` |" in expected


def test_api_md_table_lists_every_operation_with_auth_and_error_codes() -> None:
    document = json.loads(apidoc.OPENAPI.read_text(encoding="utf-8"))
    table = apidoc.render_table(document)
    operations = [(m, p) for p, ops in document["paths"].items() for m in ops if m in apidoc.METHODS]
    for method, path in operations:
        assert f"| `{method.upper()}` | `{path}` |" in table, (method, path)
    assert "| user |" in table and "| public |" in table and "client (Basic)" in table
    assert "`token_revoked`" in table and "`rate_limited`" in table


def test_api_md_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        apidoc.splice("# API\nno generated section here\n", "| table |\n")


# --- docs/EVENTS.md -------------------------------------------------------------------------

def catalogue_routing_keys() -> list[str]:
    asyncapi = json.loads((DOCS / "events" / "asyncapi.json").read_text(encoding="utf-8"))
    return sorted(asyncapi["channels"])


def missing_events(events_md: str, keys: Iterable[str]) -> list[str]:
    return [k for k in keys if f"`{k}`" not in events_md]


def test_events_md_describes_every_event_of_the_catalogue() -> None:
    keys = catalogue_routing_keys()
    assert len(keys) >= 19  # the catalogue was read
    schema_types = {p.name.removesuffix(".schema.json") for p in (DOCS / "events").glob("*.schema.json")}
    assert schema_types == {k.split(".", 1)[1] for k in keys}
    missing = missing_events((DOCS / "EVENTS.md").read_text(encoding="utf-8"), keys)
    assert not missing, f"docs/EVENTS.md does not describe: {missing}"


def test_events_check_notices_a_missing_event() -> None:
    text = (DOCS / "EVENTS.md").read_text(encoding="utf-8").replace("`seals.SealRevoked`", "")
    assert missing_events(text, catalogue_routing_keys()) == ["seals.SealRevoked"]


# --- docs/OPERATIONS.md ---------------------------------------------------------------------

def _subclasses(cls: type[ServiceSettings]) -> Iterator[type[ServiceSettings]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def settings_variables() -> set[str]:
    for module in SETTINGS_MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    classes: list[type[ServiceSettings]] = [ServiceSettings, *_subclasses(ServiceSettings)]
    for cls in classes:
        prefix = cls.model_config.get("env_prefix", "")
        assert prefix == "ESEAL_", cls
        names |= {(prefix + field).upper() for field in cls.model_fields}
    return names


def _is_test_file(path: str) -> bool:
    return path.startswith("tests/") or "/tests/" in path


def spelled_out_variables() -> set[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    names: set[str] = set()
    for path in out.decode().split("\0"):
        if not path or _is_test_file(path):
            continue
        if not (path.endswith((".py", ".sh")) or Path(path).name in ("Makefile", "Dockerfile")):
            continue
        try:
            names |= set(_VARIABLE.findall((ROOT / path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return names


def undocumented(operations_md: str, names: Iterable[str]) -> list[str]:
    documented = set(_VARIABLE.findall(operations_md))
    return sorted(set(names) - documented)


def test_operations_md_names_every_variable_the_code_reads() -> None:
    names = settings_variables() | spelled_out_variables()
    assert {"ESEAL_ENV", "ESEAL_MASTER_KEY", "ESEAL_STAMPING_PDF_THREADS"} <= names  # it looked
    missing = undocumented((DOCS / "OPERATIONS.md").read_text(encoding="utf-8"), names)
    assert not missing, f"docs/OPERATIONS.md does not mention: {missing} (add them to its tables)"


def test_operations_check_notices_an_undocumented_variable() -> None:
    text = (DOCS / "OPERATIONS.md").read_text(encoding="utf-8")
    assert undocumented(text, settings_variables() | {"ESEAL_SOMETHING_NEW"}) == ["ESEAL_SOMETHING_NEW"]
