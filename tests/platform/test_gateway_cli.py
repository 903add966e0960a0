"""``python -m gateway migrate`` (run by the same Job template as the services') exits at once:
the gateway has no database, and it used to ignore its arguments and start serving."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.stack import PYTHONPATH, ROOT


def test_gateway_migrate_exits_without_serving() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESEAL_")}
    env.update({"PYTHONPATH": PYTHONPATH, "ESEAL_ENV": "test", "ESEAL_PORT": "1"})
    done = subprocess.run([sys.executable, "-m", "gateway", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-1000:]
    assert "nothing to migrate" in done.stdout + done.stderr
    unknown = subprocess.run([sys.executable, "-m", "gateway", "rebuild"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
