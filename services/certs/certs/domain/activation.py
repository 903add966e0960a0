"""SMS activation codes: 6 digits, 5 minutes, one send per 60 s, 5 wrong tries per code.

Only a keyed hash of the code is kept: a database dump must not let anyone try the
10^6 candidates offline, so the hash is HMAC-SHA256 under a server key, bound to the
subject (a hash of one person's code is useless for another).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .errors import (
    CertsError,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    ResendTooSoon,
)


@dataclass(frozen=True)
class ActivationCode:
    """What the service stores for the subject's current code (no plaintext)."""

    subject_id: str
    code_hash: bytes = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    failures: int = 0
    consumed_at: datetime | None = None


@dataclass(frozen=True)
class CodeCheck:
    """New record to persist, then the error to raise (None when the code was right)."""

    record: ActivationCode
    error: CertsError | None


@dataclass(frozen=True)
class ActivationCodePolicy:
    hash_key: bytes = field(repr=False)
    digits: int = 6
    ttl: timedelta = timedelta(minutes=5)
    resend_interval: timedelta = timedelta(seconds=60)
    max_failures: int = 5

    def __post_init__(self) -> None:
        if len(self.hash_key) < 32:
            raise ValueError("activation code hash key must have at least 32 bytes")

    def issue(
        self, subject_id: str, now: datetime, previous: ActivationCode | None = None
    ) -> tuple[ActivationCode, str]:
        """A new record (replacing ``previous``) and the plaintext code to send by SMS."""
        if previous is not None and now < previous.issued_at + self.resend_interval:
            wait = (previous.issued_at + self.resend_interval - now).total_seconds()
            raise ResendTooSoon(max(1, math.ceil(wait)))
        code = f"{secrets.randbelow(10**self.digits):0{self.digits}d}"
        record = ActivationCode(
            subject_id=subject_id,
            code_hash=self._hash(subject_id, code),
            issued_at=now,
            expires_at=now + self.ttl,
        )
        return record, code

    def verify(self, record: ActivationCode, code: str, now: datetime) -> CodeCheck:
        """Check ``code``; a right code is consumed (single use), a wrong one counted.

        With no record at all (nothing was sent) the caller raises ``CodeInvalid(0)``.
        """
        if record.consumed_at is not None:
            return CodeCheck(record, CodeInvalid(0))  # single use
        if record.failures >= self.max_failures:
            return CodeCheck(record, CodeAttemptsExceeded())  # burnt, even if now right
        if now >= record.expires_at:
            return CodeCheck(record, CodeExpired())
        if hmac.compare_digest(record.code_hash, self._hash(record.subject_id, code.strip())):
            return CodeCheck(replace(record, consumed_at=now), None)
        return self._count_failure(record)

    def _count_failure(self, record: ActivationCode) -> CodeCheck:
        failed = replace(record, failures=record.failures + 1)
        left = self.max_failures - failed.failures
        return CodeCheck(failed, CodeInvalid(left) if left > 0 else CodeAttemptsExceeded())

    def _hash(self, subject_id: str, code: str) -> bytes:
        message = subject_id.encode() + b"\x00" + code.encode()
        return hmac.new(self.hash_key, message, hashlib.sha256).digest()
