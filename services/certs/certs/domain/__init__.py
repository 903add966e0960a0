"""Pure rules and value objects of the certs service (no I/O, time injected)."""

from .activation import ActivationCode, ActivationCodePolicy, CodeCheck
from .errors import (
    CertificateLocked,
    CertsError,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    PasswordMismatch,
    ResendTooSoon,
    WeakPassword,
    WrongCertificatePassword,
)
from .lockout import AttemptOutcome, PasswordAttempts, WrongPasswordPolicy
from .passwords import PasswordRule
from .subjects import (
    AgentSubject,
    EnterpriseSubject,
    PersonSubject,
    SealSubject,
    UserSubject,
)

__all__ = [
    "ActivationCode",
    "ActivationCodePolicy",
    "AgentSubject",
    "AttemptOutcome",
    "CertificateLocked",
    "CertsError",
    "CodeAttemptsExceeded",
    "CodeCheck",
    "CodeExpired",
    "CodeInvalid",
    "EnterpriseSubject",
    "PasswordAttempts",
    "PasswordMismatch",
    "PasswordRule",
    "PersonSubject",
    "ResendTooSoon",
    "SealSubject",
    "UserSubject",
    "WeakPassword",
    "WrongCertificatePassword",
    "WrongPasswordPolicy",
]
