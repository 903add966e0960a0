"""The seals service's errors, each with a stable ``code`` (problem+json via shared.errors)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed


class SealNotFound(NotFound):
    code = "seal_not_found"

    def __init__(self) -> None:
        super().__init__("no such seal")


class GrantNotFound(NotFound):
    code = "grant_not_found"

    def __init__(self) -> None:
        super().__init__("no such grant")


class SignatureNotFound(NotFound):
    code = "signature_not_found"

    def __init__(self) -> None:
        super().__init__("you have no personal signature")


class SealTypeTaken(Conflict):
    code = "seal_type_taken"

    def __init__(self, type_code: str) -> None:
        super().__init__(f"the enterprise already has an active seal of type {type_code}",
                         seal_type=type_code)


class SealRevoked(Conflict):
    code = "seal_revoked"

    def __init__(self) -> None:
        super().__init__("the seal has been revoked")


class GrantExists(Conflict):
    code = "grant_exists"

    def __init__(self) -> None:
        super().__init__("this person is already authorized to use this seal")


class SignatureExists(Conflict):
    code = "signature_exists"

    def __init__(self) -> None:
        super().__init__("you already have a personal signature; delete it first")


class CertificateRequired(Forbidden):
    code = "certificate_required"

    def __init__(self) -> None:
        super().__init__("activate your digital certificate first")


class ManagementPermissionRequired(Forbidden):
    code = "management_permission_required"

    def __init__(self) -> None:
        super().__init__("this agent may view seals but not change them")


class AgentNotValid(Forbidden):
    code = "agent_not_valid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class AgentNotSynchronized(ServiceUnavailable):
    """A brand-new agent whose AgentAdded event has not reached seals yet."""

    code = "agent_not_synchronized"

    def __init__(self) -> None:
        super().__init__("this agent is not known to the seals service yet; retry shortly",
                         headers={"Retry-After": "1"})


class NotAuthorized(Forbidden):
    """Stamping: the person may not use this seal now."""

    code = "not_authorized"

    def __init__(self, detail: str = "you are not authorized to use this seal now") -> None:
        super().__init__(detail)


class InvalidWindow(ValidationFailed):
    @classmethod
    def ends_before_start(cls) -> InvalidWindow:
        err = cls("valid_to: the grant cannot end before it starts", code="invalid_window",
                  errors=[{"field": "valid_to", "message": "must not be before valid_from"}])
        return err

    @classmethod
    def already_over(cls) -> InvalidWindow:
        return cls("valid_to: the grant would already be over", code="window_in_past",
                   errors=[{"field": "valid_to", "message": "must not be before today"}])


class LegalRepresentativeMismatch(ValidationFailed):
    code = "legal_representative_mismatch"

    def __init__(self) -> None:
        super().__init__(
            "name: a legal representative's seal carries the legal representative's name",
            errors=[{"field": "name",
                     "message": "must be the enterprise's legal representative's name"}])


class InvalidApprovers(ValidationFailed):
    code = "invalid_approvers"

    def __init__(self, message: str) -> None:
        super().__init__(f"approvers: {message}",
                         errors=[{"field": "approvers", "message": message}])


class NotAnApprover(Forbidden):
    """Approving a stamp with a seal needs to be one of its approvers now (用印审批)."""

    code = "not_an_approver"

    def __init__(self) -> None:
        super().__init__("you are not an approver of this seal")


class ApprovalRequired(Forbidden):
    """A seal that requires approval signs only for an approval by one of its approvers."""

    code = "approval_required"

    def __init__(self) -> None:
        super().__init__("this seal is applied only after approval by one of its approvers")
