"""Domain errors of the certs service.

They belong to the platform's one hierarchy (``shared.errors.EsealError``, pure, no I/O),
so the app factory renders them as problem+json: stable ``code``, the contract's
``status``, extra members (``attempts_left``, ``locked_until``, ``retry_after``) and,
for input errors, ``errors: [{field, message}]``. None of them carries a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.errors import EsealError


def _rfc3339(moment: datetime) -> str:
    utc = moment.astimezone(UTC).replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")


class CertsError(EsealError):
    """Base of the certs domain errors; ``field`` names the offending input, if any."""

    def __init__(self, detail: str, *, field: str | None = None, **kw: Any) -> None:
        errors = [{"field": field, "message": detail}] if field else None
        super().__init__(detail, errors=errors, **kw)
        self.field = field


class WeakPassword(CertsError):
    status, code, title = 422, "weak_password", "Password too weak"

    def __init__(self, reason: str, detail: str, *, field: str = "password") -> None:
        # reason is a stable token: length | invalid_character | character_classes
        super().__init__(detail, field=field, reason=reason)
        self.reason = reason


class PasswordMismatch(CertsError):
    status, code, title = 422, "password_mismatch", "Passwords differ"

    def __init__(self, *, field: str = "password_confirm") -> None:
        super().__init__("The two passwords differ.", field=field)


class WrongCertificatePassword(CertsError):
    status, code, title = 403, "wrong_certificate_password", "Wrong certificate password"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"Wrong certificate password; {attempts_left} attempts left.",
            attempts_left=attempts_left,
        )
        self.attempts_left = attempts_left


class CertificateLocked(CertsError):
    status, code, title = 423, "certificate_locked", "Certificate locked"

    def __init__(self, locked_until: datetime) -> None:
        until = _rfc3339(locked_until)
        super().__init__(f"Too many wrong passwords; locked until {until}.", locked_until=until)
        self.locked_until = locked_until


class CodeExpired(CertsError):
    status, code, title = 410, "code_expired", "Code expired"

    def __init__(self) -> None:
        super().__init__("The verification code has expired; request a new one.", field="sms_code")


class CodeInvalid(CertsError):
    status, code, title = 422, "code_invalid", "Wrong code"

    def __init__(self, attempts_left: int) -> None:
        super().__init__("The verification code is wrong.", field="sms_code",
                         attempts_left=attempts_left)
        self.attempts_left = attempts_left


class CodeAttemptsExceeded(CertsError):
    status, code, title = 429, "code_attempts_exceeded", "Too many wrong codes"

    def __init__(self) -> None:
        super().__init__("Too many wrong codes; request a new one.", field="sms_code")


class ResendTooSoon(CertsError):
    status, code, title = 429, "resend_too_soon", "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"A code was sent recently; retry in {retry_after} s.",
                         retry_after=retry_after, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after  # whole seconds
