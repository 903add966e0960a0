"""The monorepo's layout rules, checked on the source (docs/CONVENTIONS.md, "Layout and imports").

No service imports another service: what two services both need lives in ``shared/``
(e.g. ``shared.people`` for the identity elements identity and agents both validate), and
services talk over HTTP and the bus only. The rule covers each service's production package
``services/X/X/``; its tests may start another service in-process to talk to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / p.name).is_dir())


def imported_packages(source: str) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``source``, nested ones too."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def cross_service_imports() -> list[str]:
    offences = []
    for service in SERVICES:
        others = set(SERVICES) - {service}
        for path in sorted((ROOT / "services" / service / service).rglob("*.py")):
            for line, package in sorted(imported_packages(path.read_text(encoding="utf-8"))):
                if package in others:
                    offences.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return offences


def test_the_services_are_found() -> None:
    assert {"identity", "agents", "certs", "seals", "stamping", "notify", "gateway"} <= set(SERVICES)


def test_no_service_imports_another_service() -> None:
    assert cross_service_imports() == []


def test_the_check_sees_plain_nested_and_from_imports() -> None:
    source = "import identity.domain\ndef f():\n    from agents.domain import agent\nfrom .x import y\n"
    assert imported_packages(source) == {(1, "identity"), (3, "agents")}
