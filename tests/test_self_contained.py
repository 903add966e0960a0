"""The repository stands on its own: nothing in it points at files outside it.

A clone is all a new user has. Every tracked file (``git ls-files``) is scanned for:
- references to the design handbook the project started from, which lives beside the
  repository and is never shipped (its folder name, or a ``..`` path to that folder);
- absolute paths of the machines it was developed on (``/work/...``);
- Markdown links to files that are not in the repository (or that climb out of it);
- names of Markdown documents (``API.md``, ``docs/EVENTS.md``...) that no tracked file has;
- relative paths (``../x``) that climb above the repository root from where they are written.

The patterns are assembled from pieces so that this file does not match itself.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_HANDBOOK = "shared" + "/design"
_OUTSIDE = [
    (re.compile(re.escape("../" + "shared") + r"\b"), "a path to the sibling folder outside the repository"),
    (re.compile(re.escape(_HANDBOOK)), "the design handbook outside the repository"),
    (re.compile(r"(?<![\w.:/-])/" + "work" + r"/[\w.-]"), "an absolute path of a development machine"),
]
# A relative path that starts by going up: ``../x/y``, ``../../z`` (resolved from the file).
_UPWARD = re.compile(r"(?<![\w/.-])((?:\.\./)+[\w.-][\w./-]*)")
# [text](target) and ![alt](target); the target ends at whitespace or ')'.
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# A Markdown document named in prose or code: ``API.md``, ``docs/EVENTS.md``, ``../x/README.md``.
_MD_NAME = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)*(?:[\w-]+/)*[A-Za-z][\w-]*\.md)\b")
# Files whose contents are not ours to word (lock files list third-party packages), and this
# file: its examples of bad references are what the scan must find.
_SKIP = {"web/package-lock.json", "tests/test_self_contained.py"}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


def _text(path: str) -> str | None:
    try:
        data = (ROOT / path).read_bytes()
    except OSError:  # listed but deleted in the work tree
        return None
    if b"\0" in data[:8192]:
        return None  # binary (images, fonts, PDFs)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith(("#", "//"))


def _resolve(source: str, target: str) -> str | None:
    """The repository path a relative link names, or None when it climbs out of the repository."""
    target = target.split("#", 1)[0].split("?", 1)[0]
    if target.startswith("/"):
        joined = posixpath.normpath(target.lstrip("/"))
    else:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    return None if joined == ".." or joined.startswith("../") else joined


def problems_in(path: str, text: str, files: set[str], dirs: set[str],
                md_names: set[str]) -> Iterable[str]:
    """Every outside reference in one file, as ``path:line: what``."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for pattern, what in _OUTSIDE:
            if pattern.search(line):
                yield f"{path}:{lineno}: {what}: {line.strip()[:160]}"
        # a test's hostile input (a path that climbs out on purpose) is marked as such
        for upward in ([] if "attack input" in line else _UPWARD.findall(line)):
            resolved = _resolve(path, upward.rstrip("."))
            if resolved is None:
                yield f"{path}:{lineno}: a relative path that leaves the repository: {upward}"
            elif resolved not in files and resolved not in dirs:
                yield f"{path}:{lineno}: a relative path to nothing in the repository: {upward}"
        if path.endswith(".md"):
            for target in _MD_LINK.findall(line):
                if _is_external(target) or not target.split("#", 1)[0]:
                    continue
                resolved = _resolve(path, target)
                if resolved is None:
                    yield f"{path}:{lineno}: link leaves the repository: {target}"
                elif resolved not in files and resolved not in dirs:
                    yield f"{path}:{lineno}: link to a file not in the repository: {target}"
        for name in _MD_NAME.findall(line):
            if "/" in name:
                resolved = _resolve(path, name)
                ok = resolved is not None and (resolved in files or name.lstrip("./") in files
                                               or posixpath.basename(name) in md_names and
                                               not name.startswith("../"))
            else:
                ok = name in md_names
            if not ok:
                yield f"{path}:{lineno}: names a document the repository does not have: {name}"


def scan(files: list[str]) -> list[str]:
    present = set(files)
    dirs = {posixpath.dirname(f) for f in files}
    dirs |= {d for f in dirs for d in _parents(f)}
    md_names = {posixpath.basename(f) for f in files if f.endswith(".md")}
    found: list[str] = []
    for path in files:
        if path in _SKIP:
            continue
        text = _text(path)
        if text is not None:
            found.extend(problems_in(path, text, present, dirs, md_names))
    return found


def _parents(path: str) -> Iterable[str]:
    while path:
        path = posixpath.dirname(path)
        yield path


def test_no_tracked_file_refers_outside_the_repository() -> None:
    found = scan(tracked_files())
    assert not found, "references outside the repository:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    "Design: `" + "../" + "shared/design/` beside this repository.",
    "see " + _HANDBOOK + "/API.md",
    "# the manual is in /" + "work/shared/seed/manual.txt",
    "[the API](docs/MISSING.md)",
    "[up and out](../../elsewhere/README.md)",
    "shapes as in NOWHERE.md",
    "the user manual is ../" + "seed/manual.zh.txt",
])
def test_the_scan_finds_each_kind_of_outside_reference(line: str) -> None:
    files = {"README.md", "docs/API.md", "docs/a.md"}
    found = list(problems_in("docs/a.md", line + "\n", files, {"docs", ""}, {"README.md", "API.md", "a.md"}))
    assert found, line


@pytest.mark.parametrize("line", [
    "[the API](API.md) and [home](../README.md#layout), [web](https://example.org/x.md)",
    "shapes as in API.md; see docs/API.md",
    "import { x } from '../README.md'  // a sibling folder's file, inside the repository",
])
def test_the_scan_accepts_references_inside_the_repository(line: str) -> None:
    files = {"README.md", "docs/API.md", "docs/a.md"}
    found = list(problems_in("docs/a.md", line + "\n", files, {"docs", ""}, {"README.md", "API.md", "a.md"}))
    assert not found, found
