"""Jobs for worker-pool tests: module-level so a worker process can import them."""

from __future__ import annotations

import os
import time


def sleep_and_report(seconds: float, pid_file: str = "") -> int:
    """Write this worker's pid (so a test can see it die), then sleep."""
    if pid_file:
        with open(pid_file, "w") as f:
            f.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def busy_loop(seconds: float) -> int:
    """Hold the CPU (and this process's GIL) like a long pyHanko validation."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n
