"""The public event catalogue (docs/EVENTS.md): what subscribers may rely on.

Fields may grow additively; meanings never change. No secret and no full ID card or phone
number ever appears here: masked values, or ``person_key`` (a keyed hash) for matching.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from .events import DomainEvent, event

# identity ---------------------------------------------------------------------------


@event("PersonRegistered", producer="identity", stream_type="person")
class PersonRegistered(DomainEvent):
    person_id: uuid.UUID
    name: str
    id_number_masked: str
    person_key: str
    phone_masked: str = ""


@event("EnterpriseRegistered", producer="identity", stream_type="enterprise")
class EnterpriseRegistered(DomainEvent):
    enterprise_id: uuid.UUID
    name: str
    uscc: str
    legal_representative_name: str
    phone_masked: str = ""


@event("PersonVerified", producer="identity", stream_type="person")
class PersonVerified(DomainEvent):
    """The person's name, ID number and phone passed the three-element real-name check
    (at registration, or at a later login when the provider was unavailable then)."""

    person_id: uuid.UUID
    method: Literal["three_elements"] = "three_elements"


@event("PersonRegistrationWithdrawn", producer="identity", stream_type="person")
class PersonRegistrationWithdrawn(DomainEvent):
    """A person's account that was still waiting for its real-name check (registered while
    the provider could not answer, never logged in, nothing issued to it) is gone: the same
    ID number or phone was registered again and verified (``superseded_by``, the new
    account). Forget ``person_id``."""

    person_id: uuid.UUID
    superseded_by: uuid.UUID


@event("EnterpriseVerified", producer="identity", stream_type="enterprise")
class EnterpriseVerified(DomainEvent):
    """The enterprise passed the business-registry check (name, USCC, legal representative)
    at registration and its legal representative then passed a face check: certs may
    activate its certificate."""

    enterprise_id: uuid.UUID
    face_check_id: uuid.UUID


@event("SessionsRevoked", producer="identity", stream_type="login")
class SessionsRevoked(DomainEvent):
    """Every token of ``principal_id`` issued before ``revoked_before`` is dead (gateway)."""

    principal_id: uuid.UUID
    revoked_before: datetime
    reason: Literal["logout", "agent_removed", "password_changed", "agent_updated", "other"]
    session_id: str | None = None


# agents -----------------------------------------------------------------------------


@event("AgentAdded", producer="agents", stream_type="agent")
class AgentAdded(DomainEvent):
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    name: str
    valid_from: date
    valid_to: date
    can_manage: bool
    added_by: uuid.UUID
    id_number_masked: str = ""
    phone_masked: str = ""
    # Added with the agents service (additive): the ID document as the list shows it.
    id_type: str = "resident_id_card"
    id_valid_from: date | None = None
    id_valid_to: date | None = None
    id_long_term: bool = False


@event("AgentUpdated", producer="agents", stream_type="agent")
class AgentUpdated(DomainEvent):
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    valid_from: date
    valid_to: date
    can_manage: bool


@event("AgentRemoved", producer="agents", stream_type="agent")
class AgentRemoved(DomainEvent):
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID
    removed_by: uuid.UUID


@event("AgentPasswordChanged", producer="agents", stream_type="agent")
class AgentPasswordChanged(DomainEvent):
    agent_id: uuid.UUID
    enterprise_id: uuid.UUID


# certs ------------------------------------------------------------------------------

OwnerType = Literal["person", "enterprise", "agent", "seal", "tsa"]


@event("CertificateIssued", producer="certs", stream_type="certificate")
class CertificateIssued(DomainEvent):
    certificate_id: uuid.UUID
    owner_type: OwnerType
    owner_id: uuid.UUID
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str


@event("Sm2CertificateIssued", producer="certs", stream_type="certificate")
class Sm2CertificateIssued(DomainEvent):
    """The SM2 (SM2-with-SM3, GB/T 38540) twin of certificate ``certificate_id``: issued with
    it, or later for certificates older than the SM2 hierarchy. It is revoked with it
    (``CertificateRevoked`` of ``certificate_id`` revokes both)."""

    certificate_id: uuid.UUID
    owner_type: OwnerType
    owner_id: uuid.UUID
    serial_number: str
    algorithm: Literal["sm2-sm3"] = "sm2-sm3"
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str


@event("CertificateRevoked", producer="certs", stream_type="certificate")
class CertificateRevoked(DomainEvent):
    certificate_id: uuid.UUID
    serial_number: str
    reason: str
    revoked_at: datetime
    owner_type: OwnerType | None = None
    owner_id: uuid.UUID | None = None


@event("SealCertificateRenewed", producer="certs", stream_type="certificate")
class SealCertificateRenewed(DomainEvent):
    """Seal ``seal_id``'s certificate was renewed before it expired (certs' hourly round):
    ``certificate_id`` (a new key pair, the same subject) replaces
    ``replaces_certificate_id``, which is not revoked: it stays valid until it expires, and
    the stamps made with it keep verifying. New stamps use the new certificate. On the new
    certificate's stream, after its ``CertificateIssued`` and ``Sm2CertificateIssued``.
    The certificate and the chain are public (no key material)."""

    certificate_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    certificate_pem: str
    chain_pem: list[str]
    replaces_certificate_id: uuid.UUID
    replaces_serial_number: str
    renewed_at: datetime


# seals ------------------------------------------------------------------------------


@event("SealIssued", producer="seals", stream_type="seal")
class SealIssued(DomainEvent):
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    name: str
    image_sha256: str
    certificate_serial: str
    issued_by: uuid.UUID


@event("SealRevoked", producer="seals", stream_type="seal")
class SealRevoked(DomainEvent):
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    revoked_by: uuid.UUID
    revoked_at: datetime
    reason: str = ""


@event("SealApprovalPolicySet", producer="seals", stream_type="seal")
class SealApprovalPolicySet(DomainEvent):
    """用印审批: whether a stamp with the seal waits for an approver, and who approves (the
    enterprise account's id or agents with the management permission)."""

    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    approval_required: bool
    approvers: list[uuid.UUID]
    set_by: uuid.UUID


@event("AuthorizationGranted", producer="seals", stream_type="grant")
class AuthorizationGranted(DomainEvent):
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    valid_from: date
    valid_to: date
    granted_by: uuid.UUID
    # Added (additive): who the grantee is, as the enterprise's grant list shows them.
    person_name: str = ""
    id_number_masked: str = ""


@event("AuthorizationUpdated", producer="seals", stream_type="grant")
class AuthorizationUpdated(DomainEvent):
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    valid_from: date
    valid_to: date


@event("AuthorizationRevoked", producer="seals", stream_type="grant")
class AuthorizationRevoked(DomainEvent):
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    revoked_by: uuid.UUID


@event("PersonalSignatureCreated", producer="seals", stream_type="signature")
class PersonalSignatureCreated(DomainEvent):
    signature_id: uuid.UUID
    person_id: uuid.UUID
    method: Literal["handwritten", "generated"]
    image_sha256: str = ""  # added (additive): fingerprint of the stored image


@event("PersonalSignatureDeleted", producer="seals", stream_type="signature")
class PersonalSignatureDeleted(DomainEvent):
    signature_id: uuid.UUID
    person_id: uuid.UUID


# stamping ---------------------------------------------------------------------------


@event("StampRequested", producer="stamping", stream_type="stamp_request")
class StampRequested(DomainEvent):
    request_id: uuid.UUID
    client_id: str
    title: str
    document_sha256: str
    expires_at: datetime


@event("StampApplied", producer="stamping", stream_type="stamp_request")
class StampApplied(DomainEvent):
    record_id: uuid.UUID
    request_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    document_sha256: str
    stamped_at: datetime
    client_id: str
    seal_name: str = ""
    document_title: str = ""
    # "pades" (PDF), "cms" (a digest's detached signature) or "gbt38540" (OFD), and the seal
    # signature's algorithm ("ecdsa-p256-sha256" | "sm2-sm3"); empty in older events.
    format: str = ""
    algorithm: str = ""


@event("StampRequestExpired", producer="stamping", stream_type="stamp_request")
class StampRequestExpired(DomainEvent):
    request_id: uuid.UUID
    client_id: str


@event("ApprovalRequested", producer="stamping", stream_type="stamp_request")
class ApprovalRequested(DomainEvent):
    """用印审批: a grantee's stamp waits for an approver (the person's part is signed)."""

    approval_id: uuid.UUID
    request_id: uuid.UUID
    client_id: str
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    seal_ids: list[uuid.UUID]
    approvers: list[uuid.UUID]
    document_title: str
    requester: str
    expires_at: datetime


@event("ApprovalGranted", producer="stamping", stream_type="stamp_request")
class ApprovalGranted(DomainEvent):
    """Approved: appended with the request's ``StampApplied`` events (the seals applied)."""

    approval_id: uuid.UUID
    request_id: uuid.UUID
    client_id: str
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    approved_by: uuid.UUID
    approved_at: datetime
    document_title: str = ""


@event("ApprovalRejected", producer="stamping", stream_type="stamp_request")
class ApprovalRejected(DomainEvent):
    """The request ends unstamped: ``cause`` rejected (by ``rejected_by``, with ``reason``),
    expired, seal_revoked or grant_revoked."""

    approval_id: uuid.UUID
    request_id: uuid.UUID
    client_id: str
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    cause: Literal["rejected", "expired", "seal_revoked", "grant_revoked"]
    reason: str = ""
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime
    document_title: str = ""
