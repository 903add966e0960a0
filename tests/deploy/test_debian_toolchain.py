"""The web build works with the Node.js Debian 12 ships (18.20; the floor is 18.19), so a
fresh Debian machine builds it from Debian's packages and npm alone (issue 12): every
package in the lock file must accept that Node.js, and the checks before the build
(Makefile, scripts/ensure-system.sh) must ask for no more. scripts/check-fresh-debian.sh
is the proof on a real debootstrapped root; these tests keep a version bump from quietly
undoing it."""

from __future__ import annotations

import json
import re

import pytest

from devstack.stack import ROOT

DEBIAN_12_NODE = (18, 19, 0)
WEB = ROOT / "web"


def _version(text: str) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.strip().lstrip("v=").split(".")[:3]]
    major, minor, patch = parts + [0] * (3 - len(parts))
    return major, minor, patch


def _comparator_ok(version: tuple[int, int, int], comparator: str) -> bool:
    """One npm semver comparator (>=, >, <=, <, =, ^, ~, x-ranges) applied to a release."""
    match = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?\s*v?([0-9xX*]+(?:\.[0-9xX*]+){0,2})", comparator)
    assert match, f"engines comparator not understood: {comparator!r}"
    op, raw = match.group(1) or "", match.group(2)
    fields = raw.split(".")
    given = [f for f in fields if f not in ("x", "X", "*")]
    low = _version(".".join(given)) if given else (0, 0, 0)
    if op in ("", "=") and len(given) < 3:  # 18, 18.x: that major (and minor)
        return version[: len(given)] == low[: len(given)]
    if op == "^":
        first = next((i for i, v in enumerate(low) if v), 2)
        return version >= low and version[: first + 1] == low[: first + 1]
    if op == "~":
        return version >= low and version[:2] == low[:2]
    return {
        "": version == low, "=": version == low, ">=": version >= low, ">": version > low,
        "<=": version <= low, "<": version < low,
    }[op]


def node_accepts(version: tuple[int, int, int], engines: str) -> bool:
    """Does an ``engines.node`` range (npm semver) accept ``version``?"""
    for alternative in engines.split("||"):
        alternative = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alternative.strip())
        if alternative in ("", "*", "x"):
            return True
        if " - " in alternative:
            low, high = alternative.split(" - ")
            if _version(low) <= version <= _version(high):
                return True
            continue
        if all(_comparator_ok(version, c) for c in alternative.split()):
            return True
    return False


@pytest.mark.parametrize(
    ("engines", "accepted"),
    [(">=18", True), ("^18.0.0 || >=20.0.0", True), (">=20.19", False), ("^20.19.0 || >=22.12.0", False),
     (">= 10.4.0", True), ("^18.12.0 || >= 20.9.0", True), ("*", True), (">=20", False), ("18.x", True),
     ("^14.18.0 || >=16.0.0", True), ("<18", False)],
)
def test_the_range_reader(engines: str, accepted: bool) -> None:
    assert node_accepts(DEBIAN_12_NODE, engines) is accepted


def test_every_locked_web_package_runs_on_debian_12s_node() -> None:
    lock = json.loads((WEB / "package-lock.json").read_text())
    refused = {
        name or "web/package.json": meta["engines"]["node"]
        for name, meta in lock["packages"].items()
        if isinstance(meta.get("engines"), dict) and "node" in meta["engines"]
        and not node_accepts(DEBIAN_12_NODE, meta["engines"]["node"])
    }
    assert not refused, f"these need a newer Node.js than Debian 12's 18.20: {refused}"


def test_the_set_up_asks_for_the_same_node_as_the_package() -> None:
    engines = json.loads((WEB / "package.json").read_text())["engines"]["node"]
    assert engines == ">=18.19"
    script = (ROOT / "scripts" / "ensure-system.sh").read_text()
    assert "a === 18 && b >= 19" in script
    makefile = (ROOT / "Makefile").read_text()
    assert "20.19" not in makefile and "ensure-system.sh node" in makefile


def test_no_dependency_install_script_runs() -> None:
    # postinstall hooks are how a compromised package runs code on the build machine.
    npmrc = (WEB / ".npmrc").read_text().splitlines()
    assert "ignore-scripts=true" in [line.strip() for line in npmrc]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY web/package\.json web/package-lock\.json web/\.npmrc \./$", dockerfile, re.M)
