"""Wrong-certificate-password counting and temporary lock (time injected).

The counting and the lock are the platform's one policy (``shared.lockout``, the same as
identity's login lock); this module adds what certs answers: the error of each outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.lockout import LockPolicy, LockState

from .errors import CertificateLocked, CertsError, WrongCertificatePassword

# Per-certificate state the service persists next to the wrapped key.
PasswordAttempts = LockState


@dataclass(frozen=True)
class AttemptOutcome:
    """New state to persist, and the error to raise afterwards (None on success)."""

    state: PasswordAttempts
    error: CertsError | None


@dataclass(frozen=True)
class WrongPasswordPolicy(LockPolicy):
    """``max_failures`` consecutive wrong passwords lock the key for ``lock_period``."""

    def ensure_unlocked(self, state: PasswordAttempts, now: datetime) -> None:
        """Raise ``CertificateLocked`` while the lock lasts; call before trying a password."""
        until = self.locked_until(state, now)
        if until is not None:
            raise CertificateLocked(until)

    def on_success(self) -> PasswordAttempts:
        return PasswordAttempts()

    def on_failure(self, state: PasswordAttempts, now: datetime) -> AttemptOutcome:
        """Count one wrong password; the last allowed one locks (and answers locked)."""
        state = self.current(state, now)
        if state.locked_until is not None:
            return AttemptOutcome(state, CertificateLocked(state.locked_until))
        state = self.after_failure(state, now)
        if state.locked_until is not None:
            return AttemptOutcome(state, CertificateLocked(state.locked_until))
        return AttemptOutcome(state, WrongCertificatePassword(self.attempts_left(state, now)))
