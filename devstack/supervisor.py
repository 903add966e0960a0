"""Keeps `make run`'s processes up: a service that crashes is restarted with backoff.

A developer's platform should survive one service falling over (a bad migration retried, an
OOM, a killed process) the way Kubernetes would restart a pod, instead of taking the whole
stack down; the log says what happened each time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Protocol


class Process(Protocol):
    returncode: int | None

    def poll(self) -> int | None: ...


class Restartable(Protocol):
    @property
    def processes(self) -> Mapping[str, Process]: ...

    def start(self, services: tuple[str, ...]) -> None: ...


# A service that stayed up this long is healthy again: its next crash starts backoff afresh.
STABLE_AFTER_SECONDS = 60.0


class Supervisor:
    def __init__(self, stack: Restartable, *, first_delay: float = 1.0, max_delay: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 log: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
        self._stack, self._first, self._max = stack, first_delay, max_delay
        self._clock, self._log = clock, log
        self._failures: dict[str, int] = {}
        self._due: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def delay(self, failures: int) -> float:
        """Seconds before restart number ``failures`` (1, 2, 4, … up to the cap)."""
        return float(min(self._max, self._first * 2 ** (failures - 1)))

    def tick(self) -> None:
        """Look at every process once: schedule restarts of the dead, perform those due."""
        now = self._clock()
        for service, proc in list(self._stack.processes.items()):
            if proc.poll() is None:
                if now - self._started.get(service, now) >= STABLE_AFTER_SECONDS:
                    self._failures.pop(service, None)
                continue
            if service not in self._due:
                failures = self._failures.get(service, 0) + 1
                self._failures[service] = failures
                delay = self.delay(failures)
                self._due[service] = now + delay
                self._log(f"eseal: {service} exited with code {proc.returncode}; "
                          f"restarting in {delay:g} s (failure {failures})")
            elif now >= self._due[service]:
                del self._due[service]
                self._stack.start((service,))
                self._started[service] = now
                self._log(f"eseal: {service} restarted")
