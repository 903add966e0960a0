"""Errors of the identity domain, in the platform's one hierarchy (problem+json).

Each has a stable ``code``; login errors say in Chinese and English what happened. None
carries a secret; none says whether a username exists (``invalid_credentials`` covers both).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.china_time import CHINA_TZ
from shared.errors import (
    Conflict,
    EsealError,
    Forbidden,
    Gone,
    Locked,
    NotAuthenticated,
)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _field(field: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "message": message}]


class AlreadyRegistered(Conflict):
    code = "already_registered"

    def __init__(self, field: str) -> None:
        super().__init__("该证件或手机号已注册 / already registered",
                         errors=_field(field, "already registered"))


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"

    def __init__(self, attempts_left: int | None = None) -> None:
        extra: dict[str, Any] = {} if attempts_left is None else {"attempts_left": attempts_left}
        suffix = f"；还可尝试 {attempts_left} 次 / {attempts_left} attempts left" if attempts_left else ""
        super().__init__("用户名或密码错误 / wrong username or password" + suffix, **extra)


class AccountLocked(Locked):
    code, title = "account_locked", "Account locked"

    def __init__(self, locked_until: datetime) -> None:
        local = locked_until.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"密码连续输错次数过多，账户已锁定，请于 {local}（北京时间）后重试 / "
            f"too many wrong passwords: the account is locked until {rfc3339(locked_until)}",
            locked_until=rfc3339(locked_until))


class AgentNotValid(Forbidden):
    code, title = "agent_not_valid", "Agent not valid now"

    def __init__(self, valid_from: str, valid_to: str) -> None:
        super().__init__(
            f"经办人不在有效期内（{valid_from} 至 {valid_to}）/ the agent is valid only from "
            f"{valid_from} to {valid_to}", valid_from=valid_from, valid_to=valid_to)


class SessionEnded(NotAuthenticated):
    code = "session_ended"

    def __init__(self) -> None:
        super().__init__("登录已失效，请重新登录 / this session has ended; please log in again")


class InvalidRefreshToken(NotAuthenticated):
    code = "invalid_refresh_token"

    def __init__(self) -> None:
        super().__init__("refresh token is invalid, used or expired; please log in again")


# Face checks ----------------------------------------------------------------------


class FaceTokenInvalid(EsealError):
    status, code, title = 422, "face_token_invalid", "Invalid face token"

    def __init__(self) -> None:
        super().__init__("人脸验证凭证无效 / unknown face token",
                         errors=_field("face_token", "unknown face token"))


class FaceTokenUsed(Conflict):
    code = "face_token_used"

    def __init__(self) -> None:
        super().__init__("人脸验证凭证已使用，请重新验证 / this face token was already used",
                         errors=_field("face_token", "already used"))


class FaceTokenExpired(Gone):
    code = "face_token_expired"

    def __init__(self) -> None:
        super().__init__("人脸验证已过期，请重新验证 / the face check has expired",
                         errors=_field("face_token", "expired"))


class FaceTokenMismatch(Forbidden):
    code = "face_token_mismatch"

    def __init__(self) -> None:
        super().__init__("人脸验证凭证不属于本人或本操作 / the face token is for another person or purpose",
                         errors=_field("face_token", "issued for another subject or purpose"))


class FaceCheckNotFound(EsealError):
    status, code, title = 404, "face_check_not_found", "Face check not found"


class FaceCheckExpired(Gone):
    code = "face_check_expired"

    def __init__(self) -> None:
        super().__init__("人脸验证已过期，请重新发起 / the face check has expired")


class FaceCheckFinished(Conflict):
    code = "face_check_finished"

    def __init__(self) -> None:
        super().__init__("this face check already has a result")


class FaceProviderUnavailable(EsealError):
    status, code, title = 503, "face_provider_unavailable", "Face verification unavailable"


class AgentLoginConflict(Conflict):
    code = "agent_exists"

    def __init__(self, field: str = "phone") -> None:
        super().__init__("该企业已有使用此手机号的经办人 /"
                         " the enterprise already has an agent with this phone",
                         errors=_field(field, "already used by another agent of this enterprise"))


# Unified identity login (OpenID Connect) ---------------------------------------------


class OidcDisabled(EsealError):
    status, code, title = 404, "oidc_disabled", "Unified identity login not configured"

    def __init__(self) -> None:
        super().__init__("本平台未配置统一身份认证登录 /"
                         " login through the unified identity platform is not configured")


class OidcStateInvalid(EsealError):
    status, code, title = 400, "oidc_state_invalid", "Unknown or expired login"

    def __init__(self) -> None:
        super().__init__("统一身份认证登录已失效，请重新登录 / unknown or expired login state; start again",
                         errors=_field("state", "unknown or expired"))


class OidcStateUsed(Conflict):
    code = "oidc_state_used"

    def __init__(self) -> None:
        super().__init__("该登录请求已使用，请重新登录 / this login was already completed; start again",
                         errors=_field("state", "already used"))


class OidcLoginRefused(NotAuthenticated):
    """The provider's answer is not accepted; ``reason`` says which check failed."""

    code, title = "oidc_login_refused", "Unified identity login refused"

    def __init__(self, reason: str) -> None:
        super().__init__("统一身份认证登录失败，请重新登录 /"
                         f" the identity provider's answer was refused ({reason})",
                         reason=reason)


class OidcProviderUnavailable(EsealError):
    status, code, title = 502, "oidc_provider_unavailable", "Identity provider unavailable"

    def __init__(self) -> None:
        super().__init__("统一身份认证平台暂时无法访问，请稍后再试 / the identity provider cannot be reached")


class OidcAccountNotFound(EsealError):
    status, code, title = 404, "account_not_found", "No account"

    def __init__(self) -> None:
        super().__init__("未找到与该身份对应的账户，请先注册 /"
                         " no account holds this identity; please register first")


class OidcAccountBound(Conflict):
    code = "oidc_account_bound"

    def __init__(self) -> None:
        super().__init__("该账户已绑定另一个统一身份认证账号 /"
                         " this account is bound to another identity at the provider")


# Proofing at registration (实名核验 / 工商核验) --------------------------------------------


class RealNameMismatch(EsealError):
    """The three-element check refused: ``field`` is the kind of element (name, id_number,
    phone), never a value on record."""

    status, code, title = 422, "realname_mismatch", "Identity elements do not match"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"实名核验未通过 / the real-name check failed: {reason}",
                         errors=_field(field, reason))


class RegistryMismatch(EsealError):
    """The business registry refused: ``field`` is ``name``, ``uscc``,
    ``legal_representative.name`` or ``legal_representative.id_number``, never a value on
    record."""

    status, code, title = 422, "registry_mismatch", "Enterprise not confirmed by the registry"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"企业工商信息核验未通过 / the business registry check failed: {reason}",
                         errors=_field(field, reason))


class RegistryUnavailable(EsealError):
    status, code, title = 503, "registry_unavailable", "Business registry unavailable"

    def __init__(self) -> None:
        super().__init__("企业工商信息核验服务暂不可用，请稍后重新注册 /"
                         " the business registry cannot be reached; nothing was registered, try again later")


class AccountPendingVerification(Forbidden):
    code, title = "account_pending_verification", "Account pending verification"

    def __init__(self) -> None:
        super().__init__("实名核验尚未完成（核验服务暂不可用），请稍后重新登录以重试 /"
                         " the real-name check of this account is not complete yet (the provider"
                         " was unavailable); log in again later to retry it",
                         verification="pending_verification")


class NotAnEnterprise(Forbidden):
    code, title = "not_an_enterprise", "Enterprise accounts only"

    def __init__(self) -> None:
        super().__init__("仅企业账户可进行法定代表人人脸核验 /"
                         " only an enterprise account verifies its legal representative")


class AlreadyVerified(Conflict):
    code = "already_verified"

    def __init__(self) -> None:
        super().__init__("该账户已完成核验 / this account is verified already")
