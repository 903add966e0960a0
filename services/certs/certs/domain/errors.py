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


class CertificateNotActivated(CertsError):
    status, code, title = 404, "certificate_not_activated", "Certificate not activated"

    def __init__(self) -> None:
        super().__init__("No active certificate; activate one first.")


class CertificateAlreadyActive(CertsError):
    status, code, title = 409, "certificate_already_active", "Certificate already active"

    def __init__(self) -> None:
        super().__init__("This account already has an active certificate.")


class EnterpriseNotVerified(CertsError):
    status, code, title = 403, "enterprise_not_verified", "Enterprise not verified"

    def __init__(self) -> None:
        super().__init__("企业尚未完成法定代表人人脸核验，暂不能激活数字证书 /"
                         " the enterprise's legal representative has not passed the face check"
                         " (POST /api/v1/enterprises/current/verification): no certificate yet")


class AgreementsNotAccepted(CertsError):
    status, code, title = 422, "agreements_not_accepted", "Agreements not accepted"

    def __init__(self, missing: list[tuple[str, str]]) -> None:
        # one error per agreement that still needs acceptance, naming its current version
        super().__init__(
            "All current agreements must be accepted: "
            + ", ".join(f"{code} {version}" for code, version in missing) + ".",
            missing=[{"code": code, "version": version} for code, version in missing],
        )
        self.errors = [{"field": "accepted_agreements",
                        "message": f"accept {code} version {version}"} for code, version in missing]
        self.missing = missing


class UnknownAgreement(CertsError):
    status, code, title = 422, "unknown_agreement", "Unknown agreement"

    def __init__(self, code: str, version: str) -> None:
        super().__init__(f"There is no agreement {code} version {version}.",
                         field="accepted_agreements")


class CertificateRevoked(CertsError):
    status, code, title = 409, "certificate_revoked", "Certificate revoked"

    def __init__(self, serial_number: str) -> None:
        super().__init__(f"Certificate {serial_number} has been revoked.",
                         serial_number=serial_number)


class CertificateExpired(CertsError):
    status, code, title = 409, "certificate_expired", "Certificate expired"

    def __init__(self, serial_number: str) -> None:
        super().__init__("证书已过期，请通过忘记证书密码重新申请 / the certificate expired: "
                         "reset it (SMS code and face check) instead",
                         serial_number=serial_number)


class Sm2CertificatePending(CertsError):
    """A certificate older than the SM2 hierarchy has no SM2 twin until its password is next
    used; a personal seal (GB/T 38540) cannot list a certificate that does not exist yet."""

    status, code, title = 409, "sm2_certificate_pending", "No SM2 certificate yet"

    def __init__(self) -> None:
        super().__init__("您的证书尚无国密（SM2）证书：请先在 PDF 文件上签名或修改一次证书密码，"
                         "平台将随之签发 / your certificate has no SM2 twin yet: it is made at "
                         "the next use of your certificate password (a PDF signature, a "
                         "password change)")


class SealCertificateNotFound(CertsError):
    status, code, title = 404, "seal_certificate_not_found", "No certificate for this seal"

    def __init__(self) -> None:
        super().__init__("No certificate was issued for this seal.")


class CertificateNotFound(CertsError):
    status, code, title = 404, "certificate_not_found", "Certificate not found"

    def __init__(self) -> None:
        super().__init__("The platform issued no user or seal certificate with this serial.")


class SealCertificateConflict(CertsError):
    status, code, title = 409, "seal_certificate_conflict", "Seal certificate exists"

    def __init__(self) -> None:
        super().__init__("A certificate with other subject data was already issued for this seal.")


class CodeNotFound(CertsError):
    status, code, title = 404, "code_not_found", "No code sent"

    def __init__(self) -> None:
        super().__init__("No SMS code was sent to this account.")


class PrincipalNotFound(CertsError):
    status, code, title = 404, "principal_not_found", "Principal not found"

    def __init__(self) -> None:
        super().__init__("No such account.")


class IdentityIncomplete(CertsError):
    status, code, title = 409, "identity_incomplete", "Identity data incomplete"

    def __init__(self, missing: str) -> None:
        # a certificate subject (or the SMS phone) needs data identity does not have
        super().__init__(f"The account lacks data a certificate needs: {missing}.",
                         missing=missing)
