"""Errors of the agents domain (problem+json through the platform's one hierarchy)."""

from __future__ import annotations

from shared.errors import Conflict, EsealError, NotFound


class AgentNotFound(NotFound):
    """Also the answer for an agent of another enterprise: existence is not revealed."""

    code = "agent_not_found"

    def __init__(self) -> None:
        super().__init__("经办人不存在 / no such agent")


class AgentExists(Conflict):
    code = "agent_exists"

    def __init__(self, field: str) -> None:
        what = "证件号码" if field == "id_number" else "手机号码"
        super().__init__(f"该企业已有相同{what}的经办人 /"
                         f" the enterprise already has an agent with this {field}",
                         errors=[{"field": field, "message": "already used by an agent of this enterprise",
                                  "code": "agent_exists"}])


class IdentityVerificationFailed(EsealError):
    status, code, title = 422, "identity_verification_failed", "Identity elements not verified"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"经办人身份信息核验未通过 /"
                         f" the agent's identity elements were not verified: {reason}",
                         errors=[{"field": field, "message": reason, "code": "identity_verification_failed"}])


class RealNameProviderUnavailable(EsealError):
    status, code, title = 503, "realname_provider_unavailable", "Real-name verification unavailable"
