"""The event catalogue against the last released one (shared.catalog_compat)."""

from __future__ import annotations

import copy
import json

from shared.catalog_compat import breaking_changes, major, released_copy
from shared.catalog_export import CATALOG_VERSION, bundled


def test_the_catalogue_is_compatible_with_the_last_release_or_has_a_new_major_version() -> None:
    path = released_copy()
    released = json.loads(path.read_text(encoding="utf-8"))
    problems = breaking_changes(released, bundled())
    if major(CATALOG_VERSION) == major(released["info"]["version"]):
        assert not problems, (f"breaking changes against {path.name}: {problems}; bump "
                              "CATALOG_VERSION's major and release (python -m shared.catalog_compat "
                              "--release)")
    else:
        assert released_copy(CATALOG_VERSION).exists(), "release the new version"


def test_the_current_version_is_released() -> None:
    assert released_copy(CATALOG_VERSION).exists()
    assert major(CATALOG_VERSION) >= major(released_copy().stem.split("-", 1)[1])


def test_breaking_changes_are_found() -> None:
    released = bundled()
    current = copy.deepcopy(released)
    revoked = current["components"]["schemas"]["SealRevoked"]
    del revoked["properties"]["reason"]
    current["components"]["schemas"]["SealIssued"]["properties"]["name"] = {"type": "integer"}
    del current["channels"]["stamping.StampApplied"]
    problems = breaking_changes(released, current)
    assert any("SealRevoked.data.reason was removed" in p for p in problems)
    assert any("SealIssued.data.name changed type" in p for p in problems)
    assert any("stamping.StampApplied was removed" in p for p in problems)


def test_additions_are_compatible() -> None:
    released = bundled()
    current = copy.deepcopy(released)
    current["components"]["schemas"]["SealRevoked"]["properties"]["note"] = {"type": "string"}
    assert breaking_changes(released, current) == []
