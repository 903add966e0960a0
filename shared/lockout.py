"""Consecutive wrong passwords lock for a while: one policy for logins and certificate keys.

identity locks a login after wrong login passwords, certs a certificate's key after wrong
certificate passwords; both persist a ``LockState`` and ask a ``LockPolicy`` what it means
at ``now`` (time is passed in, never read, so the rules are pure and testable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["LockPolicy", "LockState"]


@dataclass(frozen=True)
class LockState:
    """What is persisted per login or key: the run of failures and the end of a lock."""

    failures: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class LockPolicy:
    """``max_failures`` wrong passwords in a row lock for ``lock_period``."""

    max_failures: int = 5
    lock_period: timedelta = timedelta(minutes=15)

    def current(self, state: LockState, now: datetime) -> LockState:
        """The state as of ``now``: an expired lock is lifted with a fresh count."""
        if state.locked_until is not None and now >= state.locked_until:
            return LockState()
        return state

    def locked_until(self, state: LockState, now: datetime) -> datetime | None:
        """The end of the lock in force at ``now``, if any."""
        return self.current(state, now).locked_until

    def after_failure(self, state: LockState, now: datetime) -> LockState:
        """Count one wrong password; the ``max_failures``-th one starts the lock."""
        failures = self.current(state, now).failures + 1
        if failures >= self.max_failures:
            return LockState(failures, now + self.lock_period)
        return LockState(failures)

    def attempts_left(self, state: LockState, now: datetime) -> int:
        """Wrong passwords still allowed before the lock (0 while locked)."""
        state = self.current(state, now)
        return 0 if state.locked_until else max(0, self.max_failures - state.failures)
