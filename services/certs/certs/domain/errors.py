"""Domain errors of the certs service.

Every error has a stable snake_case ``code`` and the HTTP ``status`` the API contract
gives it; ``extra()`` holds the additional problem+json members (never a secret).
The domain imports nothing else of the project, so the entrypoint maps these onto the
common ``EsealError`` rendering (code, status, detail, extra members, field).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class CertsError(Exception):
    """Base of the certs domain errors."""

    code: ClassVar[str] = "certs_error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def extra(self) -> dict[str, object]:
        """Additional problem+json members (e.g. ``attempts_left``)."""
        return {}


class WeakPassword(CertsError):
    code = "weak_password"
    status = 422

    def __init__(self, reason: str, detail: str, *, field: str | None = "password") -> None:
        super().__init__(detail, field=field)
        self.reason = reason  # stable token: length | invalid_character | character_classes

    def extra(self) -> dict[str, object]:
        return {"reason": self.reason}


class PasswordMismatch(CertsError):
    code = "password_mismatch"
    status = 422

    def __init__(self, *, field: str | None = "password_confirm") -> None:
        super().__init__("The two passwords differ.", field=field)


class WrongCertificatePassword(CertsError):
    code = "wrong_certificate_password"
    status = 403

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"Wrong certificate password; {attempts_left} attempts left.")
        self.attempts_left = attempts_left

    def extra(self) -> dict[str, object]:
        return {"attempts_left": self.attempts_left}


class CertificateLocked(CertsError):
    code = "certificate_locked"
    status = 423

    def __init__(self, locked_until: datetime) -> None:
        super().__init__(f"Too many wrong passwords; locked until {_rfc3339(locked_until)}.")
        self.locked_until = locked_until

    def extra(self) -> dict[str, object]:
        return {"locked_until": _rfc3339(self.locked_until)}


class CodeExpired(CertsError):
    code = "code_expired"
    status = 410

    def __init__(self) -> None:
        super().__init__("The verification code has expired; request a new one.", field="sms_code")


class CodeInvalid(CertsError):
    code = "code_invalid"
    status = 422

    def __init__(self, attempts_left: int) -> None:
        super().__init__("The verification code is wrong.", field="sms_code")
        self.attempts_left = attempts_left

    def extra(self) -> dict[str, object]:
        return {"attempts_left": self.attempts_left}


class CodeAttemptsExceeded(CertsError):
    code = "code_attempts_exceeded"
    status = 429

    def __init__(self) -> None:
        super().__init__("Too many wrong codes; request a new one.", field="sms_code")


class ResendTooSoon(CertsError):
    code = "resend_too_soon"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"A code was sent recently; retry in {retry_after} s.")
        self.retry_after = retry_after  # whole seconds, also fit for a Retry-After header

    def extra(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}
