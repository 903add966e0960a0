"""The certificate aggregate's private events (kept in certs' event store, never published).

The public ones, ``CertificateIssued`` and ``CertificateRevoked``, are in ``shared.catalog``.
A certificate stream starts with ``UserCertificateActivated`` or ``SealCertificateCreated``
(what only certs needs: the PEM, the key's id in key custody, accepted agreements),
followed by the public ``CertificateIssued``. No secret appears in any event: no password,
no code, no key material (the wrapped key lives in key custody, referenced by ``key_id``),
no full ID number (``subject`` is the display form with the ID number masked).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, event

UserOwnerType = Literal["person", "enterprise", "agent"]


class AcceptedAgreement(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    version: str


@event("UserCertificateActivated", producer="certs", stream_type="certificate", public=False)
class UserCertificateActivated(DomainEvent):
    certificate_id: uuid.UUID
    owner_type: UserOwnerType
    owner_id: uuid.UUID
    enterprise_id: uuid.UUID | None = None
    key_id: uuid.UUID
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    certificate_pem: str
    accepted_agreements: list[AcceptedAgreement]
    activated_at: datetime


@event("SealCertificateCreated", producer="certs", stream_type="certificate", public=False)
class SealCertificateCreated(DomainEvent):
    certificate_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    key_id: uuid.UUID
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    certificate_pem: str
    seal_name: str
    seal_type: str
    subject_digest: str  # sha256 of the subject data, to answer repeated requests idempotently
    created_at: datetime


@event("CertificatePasswordRejected", producer="certs", stream_type="certificate", public=False)
class CertificatePasswordRejected(DomainEvent):
    """A wrong certificate password; ``locked_until`` is set by the one that locks."""

    certificate_id: uuid.UUID
    failures: int
    locked_until: datetime | None = None
    rejected_at: datetime


@event("CertificatePasswordAccepted", producer="certs", stream_type="certificate", public=False)
class CertificatePasswordAccepted(DomainEvent):
    """The right password after wrong ones: the counter starts again (only then recorded)."""

    certificate_id: uuid.UUID
    accepted_at: datetime


@event("CertificatePasswordChanged", producer="certs", stream_type="certificate", public=False)
class CertificatePasswordChanged(DomainEvent):
    certificate_id: uuid.UUID
    changed_at: datetime


@event("Sm2CertificateAdded", producer="certs", stream_type="certificate", public=False)
class Sm2CertificateAdded(DomainEvent):
    """The SM2 twin of this certificate (GB/T 38540 seals and signatures): its own key in
    custody (``key_id``, protected like the certificate's key), its own X.509 certificate
    from the SM2 issuing CA. Password, lockout and revocation are the certificate's."""

    certificate_id: uuid.UUID
    key_id: uuid.UUID
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    certificate_pem: str
    added_at: datetime


@event("SealCertificateSuperseded", producer="certs", stream_type="certificate", public=False)
class SealCertificateSuperseded(DomainEvent):
    """A seal certificate renewed by ``superseded_by`` (whose stream starts with its own
    ``SealCertificateCreated``): not revoked, it is no longer used to sign and expires."""

    certificate_id: uuid.UUID
    superseded_by: uuid.UUID
    superseded_at: datetime


ReissueCause = Literal["reset", "renewal"]


@event("UserCertificateReissued", producer="certs", stream_type="certificate", public=False)
class UserCertificateReissued(DomainEvent):
    """A user's new certificate replacing ``replaces_certificate_id`` (revoked with it, in the
    same transaction): after a password reset (SMS code + face check, new password) or a
    renewal (SMS code + current password). A new key pair either way; the agreements accepted
    at activation stay with the account (they are kept under the first certificate)."""

    certificate_id: uuid.UUID
    owner_type: UserOwnerType
    owner_id: uuid.UUID
    enterprise_id: uuid.UUID | None = None
    key_id: uuid.UUID
    serial_number: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    certificate_pem: str
    replaces_certificate_id: uuid.UUID
    cause: ReissueCause
    reissued_at: datetime


@event("CertificateExpiryReminded", producer="certs", stream_type="certificate", public=False)
class CertificateExpiryReminded(DomainEvent):
    """The owner was told by SMS that the certificate expires in ``days_before`` days or
    fewer (30, then 7): each reminder once."""

    certificate_id: uuid.UUID
    days_before: int
    not_after: datetime
    reminded_at: datetime
