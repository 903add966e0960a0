"""Errors of the stamping domain, each with a stable code (rendered as problem+json)."""

from __future__ import annotations

from shared.errors import Conflict, EsealError, Forbidden, Gone, NotAuthenticated, NotFound, ValidationFailed


class StampRequestNotFound(NotFound):
    code, title = "stamp_request_not_found", "No such stamp request"


class QrInvalid(NotFound):
    """Well-formed payload, but no pending request has that token."""

    code, title = "qr_invalid", "Unknown or invalid QR code"


class QrUnreadable(ValidationFailed):
    code, title = "qr_unreadable", "Not an e-seal QR code"


class AlreadyStamped(Conflict):
    code, title = "already_stamped", "The request has already been stamped"


class RequestExpired(Gone):
    code, title = "expired", "The stamp request has expired"


class AwaitingApproval(Conflict):
    """用印审批: the person's part is signed; the request waits for an approver."""

    code, title = "awaiting_approval", "The stamp is waiting for approval"


class StampRejected(Conflict):
    """用印审批: the approval was refused, expired, or cancelled by a revocation."""

    code, title = "approval_rejected", "The stamp was not approved"


class ApprovalNotFound(NotFound):
    code, title = "approval_not_found", "No such approval"


class ApprovalNotPending(Conflict):
    code, title = "approval_not_pending", "The approval has already been decided"


class NotAnApprover(Forbidden):
    code, title = "not_an_approver", "You are not an approver of this seal"


class StampPending(Conflict):
    code, title = "stamp_pending", "The request has not been stamped yet"


class ScanRequired(Forbidden):
    code, title = "scan_required", "Scan the request's QR code first"


class NotAuthorized(Forbidden):
    code, title = "not_authorized", "Not authorized to use this seal"


class SealRevoked(Conflict):
    code, title = "seal_revoked", "The seal has been revoked"


class ClientRequired(Forbidden):
    code, title = "client_required", "This endpoint is for relying systems"


class InvalidClient(NotAuthenticated):
    """RFC 6749 §5.2 ``invalid_client``: 401 with a WWW-Authenticate challenge."""

    code, title = "invalid_client", "Client authentication failed"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Basic realm="eseal", charset="UTF-8"'},
                         error="invalid_client")


class InvalidClientToken(NotAuthenticated):
    code, title = "invalid_token", "Invalid client access token"

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, code=code,
                         headers={"WWW-Authenticate": 'Bearer realm="eseal", error="invalid_token"'})


class OAuthError(EsealError):
    """RFC 6749 §5.2 errors other than ``invalid_client`` (400, ``error`` = ``code``)."""

    status, title = 400, "Token request refused"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code, error=code)


class CallbackUrlRejected(ValidationFailed):
    code = "callback_url_invalid"


class PlacementInvalid(ValidationFailed):
    """A ``placements`` item that cannot be resolved; ``errors`` names it as ``placements[i]``."""

    @classmethod
    def item(cls, index: int | None, message: str, *, field: str | None = None,
             code: str | None = None) -> PlacementInvalid:
        name = "placements" if index is None else f"placements[{index}]"
        if field is not None:
            name += f".{field}"
        return cls(f"{name}: {message}", code=code,
                   errors=[{"field": name, "message": message,
                            **({"index": str(index)} if index is not None else {})}])


class KeywordNotFound(PlacementInvalid):
    code, title = "keyword_not_found", "The keyword does not occur in the document"


class UnknownSealType(PlacementInvalid):
    code, title = "unknown_seal_type", "Unknown seal type"


class PlacementPageOutOfRange(PlacementInvalid):
    code, title = "page_out_of_range", "Page out of range"


class PlacementOffPage(PlacementInvalid):
    code, title = "position_off_page", "Seal does not fit on the page"


class InvalidChoice(ValidationFailed):
    code, title = "invalid_choice", "Invalid seal choices"


class SignatureRequired(Conflict):
    """The request has a ``signature`` placement and the person has no signature (个人签名)
    yet: refused before any password try; the H5 leads the person to create one."""

    code, title = "signature_required", "Create your personal signature first"


class CertificateRequired(NotFound):
    """A ``signature`` placement is signed with the person's certificate: none is active."""

    code, title = "certificate_not_activated", "Activate your certificate first"


class StampBatchNotFound(NotFound):
    """No such batch for you: another client's, or (for a person) one they did not scan."""

    code, title = "stamp_batch_not_found", "No such stamp batch"


class BatchScannedByAnother(Conflict):
    """A batch belongs to the first person who scans it (its documents are shown to them)."""

    code, title = "batch_scanned_by_another", "Another person has scanned this batch"


class UsageRecordNotFound(NotFound):
    """No such record, or not one this account may see (its existence is not revealed)."""

    code, title = "usage_record_not_found", "No such usage record"


class EvidenceUnavailable(EsealError):
    status, code, title = 503, "evidence_unavailable", "The evidence report cannot be made now"
