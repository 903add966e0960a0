"""Consecutive wrong passwords lock a login for a while (time is passed in, never read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockState:
    """What is persisted per login: the run of failures and the end of a lock."""

    failures: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class LockPolicy:
    """``max_failures`` wrong passwords in a row lock the login for ``lock_period``."""

    max_failures: int = 5
    lock_period: timedelta = timedelta(minutes=15)

    def current(self, state: LockState, now: datetime) -> LockState:
        """An expired lock is lifted with a fresh count."""
        if state.locked_until is not None and now >= state.locked_until:
            return LockState()
        return state

    def locked_until(self, state: LockState, now: datetime) -> datetime | None:
        return self.current(state, now).locked_until

    def after_failure(self, state: LockState, now: datetime) -> LockState:
        """Count one wrong password; the ``max_failures``-th one starts the lock."""
        failures = self.current(state, now).failures + 1
        if failures >= self.max_failures:
            return LockState(failures, now + self.lock_period)
        return LockState(failures)

    def attempts_left(self, state: LockState) -> int:
        return max(0, self.max_failures - state.failures)
