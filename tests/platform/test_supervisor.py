"""The dev supervisor behind `make run`: a crashed service is restarted with backoff, and
SIGTERM stops every child (it used to leave seven orphans holding the ports)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from devstack.stack import PYTHONPATH, ROOT, StackConfig, delete_vhost, drop_databases, ensure_vhost
from devstack.supervisor import Supervisor


@dataclass
class FakeProcess:
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@dataclass
class FakeStack:
    processes: dict[str, FakeProcess] = field(default_factory=dict)
    starts: list[str] = field(default_factory=list)

    def start(self, services: tuple[str, ...]) -> None:
        for s in services:
            self.starts.append(s)
            self.processes[s] = FakeProcess()


def test_a_crashed_service_is_restarted_after_a_growing_delay() -> None:
    now = [0.0]
    lines: list[str] = []
    stack = FakeStack({"seals": FakeProcess(), "certs": FakeProcess()})
    sup = Supervisor(stack, first_delay=1, max_delay=4, clock=lambda: now[0], log=lines.append)
    for expected_delay in (1, 2, 4, 4):
        stack.processes["seals"].returncode = 1
        sup.tick()
        assert f"seals exited with code 1; restarting in {expected_delay} s" in lines[-1]
        now[0] += expected_delay - 0.1
        sup.tick()
        assert stack.starts.count("seals") == len([x for x in lines if "restarted" in x])
        now[0] += 0.1
        before = len(stack.starts)
        sup.tick()
        assert len(stack.starts) == before + 1 and lines[-1] == "eseal: seals restarted"
    assert "certs" not in stack.starts  # the others are left alone


def test_a_service_that_stays_up_starts_its_backoff_afresh() -> None:
    now = [0.0]
    lines: list[str] = []
    stack = FakeStack({"notify": FakeProcess(1)})
    sup = Supervisor(stack, first_delay=1, max_delay=30, clock=lambda: now[0], log=lines.append)
    sup.tick()
    now[0] += 1
    sup.tick()  # restarted
    now[0] += 120  # stable for two minutes
    sup.tick()
    stack.processes["notify"].returncode = 3
    sup.tick()
    assert "restarting in 1 s (failure 1)" in lines[-1]


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(x) for x in out.stdout.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _of_platform(prefix: str) -> set[int]:
    """Every process started for this test's platform (its database prefix is in their
    environment), wherever it was reparented: what the finally clause must not leave behind."""
    found = set()
    marker = f"ESEAL_DB_PREFIX={prefix}".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        found.add(int(entry))
            except OSError:
                continue
    found.discard(os.getpid())
    return found


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


# its own waits add up to more than pytest.ini's 300 s when the machine is busy (startup alone
# may take 420 s): the timeout must not cut the test, and its finally, short
@pytest.mark.timeout(600)
def test_make_run_restarts_a_killed_service_and_sigterm_leaves_no_orphans(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_sup_{run}", f"eseal_sup{run}_"
    offset = random.randrange(210, 300) * 100
    config = StackConfig(db_prefix=prefix, port_offset=offset, internal_port_offset=1000)
    ensure_vhost(vhost)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESEAL_")}
    env.update({"PYTHONPATH": PYTHONPATH, "ESEAL_DEVSTACK_PORT_OFFSET": str(offset),
                "ESEAL_DB_PREFIX": prefix, "ESEAL_TEST_FAST_KDF": "1",
                "ESEAL_AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}"})
    log = (tmp_path / "devstack.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "devstack"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Generous: in `make test` it starts beside the suite's own 2-replica platform.
        _wait(lambda: "eseal is up" in (tmp_path / "devstack.log").read_text(), 420,
              "the platform did not come up")
        children = _children(proc.pid)
        assert len(children) == 7
        identity = config.internal_url("identity")
        pid = next(c for c in children
                   if open(f"/proc/{c}/cmdline").read().split("\0")[:3][-1] == "identity")
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: "eseal: identity restarted" in (tmp_path / "devstack.log").read_text(), 60,
              "identity was not restarted")
        _wait(lambda: _ready(identity), 60, "the restarted identity is not ready")
        assert "identity exited with code -9; restarting in 1 s" in (tmp_path / "devstack.log").read_text()
        children = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0 or proc.returncode is not None
        _wait(lambda: not any(_alive(c) for c in children), 20, "orphans left after SIGTERM")
        for service in ("gateway", "identity", "seals"):
            assert not _ready(config.internal_url(service))
    finally:
        left = _children(proc.pid)  # before the supervisor goes: its children then belong to init
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for c in left | _of_platform(prefix):  # also what it was still starting when stopped
            if _alive(c):
                os.kill(c, signal.SIGKILL)
        asyncio.run(drop_databases(prefix))
        delete_vhost(vhost)
        (ROOT / ".run" / f"demo-client-{prefix.rstrip('_')}.json").unlink(missing_ok=True)
