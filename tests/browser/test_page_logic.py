"""The web pages' pure logic has its own unit tests (``web/tests``, Node's test runner):
``make test`` runs them through here, so one command runs everything."""

from __future__ import annotations

import shutil
import subprocess

from devstack.stack import ROOT


def test_web_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the web pages (see web/README.md)"
    run = subprocess.run([node, "--test", "tests/"], cwd=ROOT / "web", capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
