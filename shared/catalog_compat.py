"""Is the event catalogue still compatible with the last released one?

A subscriber written against a released catalogue (``docs/events/released/asyncapi-<v>.json``,
the bundled document of ``shared.catalog_export``) must keep working: every released event
is still published under the same routing key; its envelope and data keep every property
with the same type; nothing optional became required. Adding events, optional properties
and enum values is compatible. Anything else is *breaking* and needs a new major
``CATALOG_VERSION`` and a new released copy (``python -m shared.catalog_compat --release``).
Within an event, a breaking change of its data is a new ``schema_version`` (docs/EVENTS.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .catalog_export import CATALOG_VERSION, bundled

RELEASED = Path(__file__).resolve().parents[1] / "docs" / "events" / "released"


def released_copy(version: str | None = None) -> Path:
    """The released copy of ``version`` (default: the highest released)."""
    if version is not None:
        return RELEASED / f"asyncapi-{version}.json"
    copies = sorted(RELEASED.glob("asyncapi-*.json"),
                    key=lambda p: tuple(int(x) for x in p.stem.split("-", 1)[1].split(".")))
    if not copies:
        raise FileNotFoundError(f"no released catalogue in {RELEASED}")
    return copies[-1]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return _resolve(node, root)
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    s = _resolve(schema, root)
    if "anyOf" in s:
        return set().union(*(_types(x, root) for x in s["anyOf"]))
    if "const" in s:
        return {f"const:{s['const']}"}
    kind = s.get("type", "any")
    found = set(kind) if isinstance(kind, list) else {kind}
    if "enum" in s:
        found = {f"enum:{v}" for v in s["enum"]}
    if "format" in s:
        found = {f"{t}:{s['format']}" for t in found}
    return found


def _object_changes(where: str, old: dict[str, Any], new: dict[str, Any], old_root: dict[str, Any],
                    new_root: dict[str, Any]) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_props.items():
        if name not in new_props:
            problems.append(f"{where}.{name} was removed")
            continue
        before, after = _types(schema, old_root), _types(new_props[name], new_root)
        if not before <= after:
            problems.append(f"{where}.{name} changed type: {sorted(before)} -> {sorted(after)}")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{where}.{name} became required")
    return problems


def breaking_changes(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    problems = []
    for key in released["channels"]:
        if key not in current["channels"]:
            problems.append(f"channel {key} was removed")
    old_messages, new_messages = released["components"]["messages"], current["components"]["messages"]
    for name, message in old_messages.items():
        if name not in new_messages:
            problems.append(f"event {name} was removed")
            continue
        old_payload, new_payload = message["payload"], new_messages[name]["payload"]
        envelope_old = {**old_payload, "properties": {k: v for k, v in old_payload["properties"].items()
                                                      if k != "data"}}
        envelope_new = {**new_payload, "properties": {k: v for k, v in new_payload["properties"].items()
                                                      if k != "data"}}
        problems += _object_changes(f"{name} envelope", envelope_old, envelope_new, released, current)
        problems += _object_changes(f"{name}.data", old_payload["properties"]["data"],
                                    new_payload["properties"]["data"], released, current)
    return problems


def major(version: str) -> int:
    return int(version.split(".", 1)[0])


def main(argv: list[str]) -> int:
    current = bundled()
    if "--release" in argv:
        RELEASED.mkdir(parents=True, exist_ok=True)
        target = released_copy(CATALOG_VERSION)
        target.write_text(json.dumps(current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(target)
        return 0
    path = released_copy()
    problems = breaking_changes(json.loads(path.read_text(encoding="utf-8")), current)
    for p in problems:
        print(f"breaking: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
