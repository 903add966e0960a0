"""Wrong-certificate-password counting and temporary lock (time injected)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import CertificateLocked, CertsError, WrongCertificatePassword


@dataclass(frozen=True)
class PasswordAttempts:
    """Per-certificate state the service persists next to the wrapped key."""

    failures: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class AttemptOutcome:
    """New state to persist, and the error to raise afterwards (None on success)."""

    state: PasswordAttempts
    error: CertsError | None


@dataclass(frozen=True)
class WrongPasswordPolicy:
    """``max_failures`` consecutive wrong passwords lock the key for ``lock_period``."""

    max_failures: int = 5
    lock_period: timedelta = timedelta(minutes=15)

    def current(self, state: PasswordAttempts, now: datetime) -> PasswordAttempts:
        """The state as of ``now``: an expired lock is lifted with a fresh counter."""
        if state.locked_until is not None and now >= state.locked_until:
            return PasswordAttempts()
        return state

    def ensure_unlocked(self, state: PasswordAttempts, now: datetime) -> None:
        """Raise ``CertificateLocked`` while the lock lasts; call before trying a password."""
        state = self.current(state, now)
        if state.locked_until is not None:
            raise CertificateLocked(state.locked_until)

    def attempts_left(self, state: PasswordAttempts, now: datetime) -> int:
        state = self.current(state, now)
        return 0 if state.locked_until else self.max_failures - state.failures

    def on_success(self) -> PasswordAttempts:
        return PasswordAttempts()

    def on_failure(self, state: PasswordAttempts, now: datetime) -> AttemptOutcome:
        """Count one wrong password; the last allowed one locks (and answers locked)."""
        state = self.current(state, now)
        if state.locked_until is not None:
            return AttemptOutcome(state, CertificateLocked(state.locked_until))
        failures = state.failures + 1
        if failures >= self.max_failures:
            locked = PasswordAttempts(failures=failures, locked_until=now + self.lock_period)
            return AttemptOutcome(locked, CertificateLocked(now + self.lock_period))
        left = self.max_failures - failures
        return AttemptOutcome(PasswordAttempts(failures=failures), WrongCertificatePassword(left))
