"""The certificate aggregate: a fold of its events; decisions are functions returning the
events to append.

One stream per certificate (``stream_type`` "certificate", ``stream_id`` = certificate id).
Pure: time and policies come in as arguments, errors are returned or raised, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.catalog import CertificateIssued, CertificateRevoked, Sm2CertificateIssued
from shared.events import DomainEvent

from .errors import CertificateExpired, CertsError
from .errors import CertificateRevoked as CertificateRevokedError
from .events import (
    AcceptedAgreement,
    CertificateExpiryReminded,
    CertificatePasswordAccepted,
    CertificatePasswordChanged,
    CertificatePasswordRejected,
    ReissueCause,
    SealCertificateCreated,
    Sm2CertificateAdded,
    UserCertificateActivated,
    UserCertificateReissued,
    UserOwnerType,
)
from .lockout import PasswordAttempts, WrongPasswordPolicy

OwnerType = Literal["person", "enterprise", "agent", "seal"]
Status = Literal["active", "revoked"]


@dataclass(frozen=True)
class IssuedCertificate:
    """Facts of an X.509 certificate just issued (computed by the crypto adapter)."""

    certificate_id: uuid.UUID
    key_id: uuid.UUID
    serial_number: str
    subject: str  # display form, ID numbers masked
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    pem: str


@dataclass(frozen=True)
class Certificate:
    certificate_id: uuid.UUID
    owner_type: OwnerType
    owner_id: uuid.UUID
    serial_number: str
    key_id: uuid.UUID
    status: Status = "active"
    attempts: PasswordAttempts = field(default_factory=PasswordAttempts)
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    version: int = 0
    sm2_key_id: uuid.UUID | None = None  # the SM2 twin's key, once it has one
    sm2_serial_number: str | None = None
    reminded_days: int | None = None  # the nearest expiry reminder sent (30, then 7)

    @property
    def is_user_certificate(self) -> bool:
        return self.owner_type != "seal"

    @property
    def has_sm2(self) -> bool:
        return self.sm2_key_id is not None


def fold(events: Iterable[DomainEvent]) -> Certificate | None:
    """The certificate as its events leave it (None before it was activated or created)."""
    cert: Certificate | None = None
    for ev in events:
        cert = _apply(cert, ev)
    return cert


def _apply(state: Certificate | None, ev: DomainEvent) -> Certificate | None:
    if isinstance(ev, UserCertificateActivated):
        return Certificate(ev.certificate_id, ev.owner_type, ev.owner_id, ev.serial_number,
                           ev.key_id, version=1)
    if isinstance(ev, UserCertificateReissued):
        return Certificate(ev.certificate_id, ev.owner_type, ev.owner_id, ev.serial_number,
                           ev.key_id, version=1)
    if isinstance(ev, SealCertificateCreated):
        return Certificate(ev.certificate_id, "seal", ev.seal_id, ev.serial_number, ev.key_id,
                           version=1)
    if state is None:
        raise ValueError(f"certificate stream starts with {type(ev).__name__}")
    state = replace(state, version=state.version + 1)
    if isinstance(ev, CertificatePasswordRejected):
        return replace(state, attempts=PasswordAttempts(ev.failures, ev.locked_until))
    if isinstance(ev, CertificatePasswordAccepted | CertificatePasswordChanged):
        return replace(state, attempts=PasswordAttempts())
    if isinstance(ev, Sm2CertificateAdded):
        return replace(state, sm2_key_id=ev.key_id, sm2_serial_number=ev.serial_number)
    if isinstance(ev, CertificateExpiryReminded):
        return replace(state, reminded_days=ev.days_before)
    if isinstance(ev, CertificateRevoked):
        return replace(state, status="revoked", revoked_at=ev.revoked_at,
                       revocation_reason=ev.reason)
    return state  # CertificateIssued and facts the state does not need


# --- decisions -----------------------------------------------------------------------------


def ensure_not_revoked(cert: Certificate) -> None:
    if cert.status == "revoked":
        raise CertificateRevokedError(cert.serial_number)


def ensure_unlocked(cert: Certificate, policy: WrongPasswordPolicy, now: datetime) -> None:
    """Raise while revoked or locked; call before trying a password."""
    ensure_not_revoked(cert)
    policy.ensure_unlocked(cert.attempts, now)


def reject_password(cert: Certificate, policy: WrongPasswordPolicy,
                    now: datetime) -> tuple[list[DomainEvent], CertsError]:
    """A wrong password: the event to append, then the error to answer with."""
    outcome = policy.on_failure(cert.attempts, now)
    assert outcome.error is not None
    event = CertificatePasswordRejected(
        certificate_id=cert.certificate_id, failures=outcome.state.failures,
        locked_until=outcome.state.locked_until, rejected_at=now,
    )
    return [event], outcome.error


def accept_password(cert: Certificate, policy: WrongPasswordPolicy,
                    now: datetime) -> list[DomainEvent]:
    """The right password: resets a non-zero counter (nothing to record otherwise)."""
    if cert.attempts == policy.on_success():
        return []
    return [CertificatePasswordAccepted(certificate_id=cert.certificate_id, accepted_at=now)]


def change_password(cert: Certificate, now: datetime) -> list[DomainEvent]:
    """After the old password was verified; the counter starts again."""
    ensure_not_revoked(cert)
    return [CertificatePasswordChanged(certificate_id=cert.certificate_id, changed_at=now)]


def add_sm2(cert: Certificate, facts: IssuedCertificate, now: datetime) -> list[DomainEvent]:
    """Give this certificate its SM2 twin (once; never to a revoked one)."""
    ensure_not_revoked(cert)
    if cert.has_sm2:
        return []
    return sm2_events(facts, cert.certificate_id, cert.owner_type, cert.owner_id, now)


def revoke(cert: Certificate, reason: str, now: datetime) -> list[DomainEvent]:
    """Revocation is final; revoking again records nothing."""
    if cert.status == "revoked":
        return []
    return [CertificateRevoked(
        certificate_id=cert.certificate_id, serial_number=cert.serial_number, reason=reason,
        revoked_at=now, owner_type=cert.owner_type, owner_id=cert.owner_id,
    )]


def ensure_renewable(cert: Certificate, not_after: datetime, now: datetime) -> None:
    """Renewal is for a live certificate: not revoked (409), not yet expired (409; an
    expired one is replaced by a reset, which proves the person again by face)."""
    ensure_not_revoked(cert)
    if now >= not_after:
        raise CertificateExpired(cert.serial_number)


EXPIRY_REMINDERS = (30, 7)  # days before not_after: the renewal messages


def remind_expiry(cert: Certificate, not_after: datetime, now: datetime,
                  days: Sequence[int] = EXPIRY_REMINDERS) -> list[DomainEvent]:
    """The reminder due now, if not sent yet: the nearest threshold reached (a certificate
    found 5 days before expiry gets the 7-day one only; each once). None for revoked or
    expired certificates, nor for seal certificates (not the owner's to renew)."""
    if cert.status == "revoked" or not cert.is_user_certificate or now >= not_after:
        return []
    due = [d for d in days if now >= not_after - timedelta(days=d)]
    if not due:
        return []
    nearest = min(due)
    if cert.reminded_days is not None and cert.reminded_days <= nearest:
        return []
    return [CertificateExpiryReminded(certificate_id=cert.certificate_id, days_before=nearest,
                                      not_after=not_after, reminded_at=now)]


# Why the old certificate goes on the CRL: RFC 5280 reasons. A forgotten password is not a
# compromise (the key stays wrapped under a password nobody knows): ``superseded``, unless
# the person says the key may be compromised (the password was seen, the phone was lost).
SUPERSEDED = "superseded"
KEY_COMPROMISE = "keyCompromise"


def reissue_user_certificate(
    old: Certificate,
    facts: IssuedCertificate,
    enterprise_id: uuid.UUID | None,
    cause: ReissueCause,
    now: datetime,
    *,
    key_compromised: bool = False,
) -> tuple[list[DomainEvent], list[DomainEvent]]:
    """A new certificate replacing ``old``: (events of the old stream, events of the new one).

    The old one is revoked first (the same transaction; one active certificate per account).
    A locked certificate may be reset (that is what a reset is for); a revoked one may not
    be replaced (it was revoked for a reason: an agent removed, an earlier reset).
    """
    ensure_not_revoked(old)
    if old.owner_type == "seal":
        raise ValueError("seal certificates are renewed by certs itself, not reissued")
    reason = KEY_COMPROMISE if key_compromised else SUPERSEDED
    revoked = revoke(old, reason, now)
    reissued = UserCertificateReissued(
        certificate_id=facts.certificate_id, owner_type=old.owner_type, owner_id=old.owner_id,
        enterprise_id=enterprise_id, key_id=facts.key_id, serial_number=facts.serial_number,
        subject=facts.subject, issuer=facts.issuer, not_before=facts.not_before,
        not_after=facts.not_after, fingerprint_sha256=facts.fingerprint_sha256,
        certificate_pem=facts.pem, replaces_certificate_id=old.certificate_id, cause=cause,
        reissued_at=now,
    )
    return revoked, [reissued, _issued_event(facts, old.owner_type, old.owner_id)]


# --- creation ------------------------------------------------------------------------------


def _issued_event(facts: IssuedCertificate, owner_type: OwnerType, owner_id: uuid.UUID) -> CertificateIssued:
    return CertificateIssued(
        certificate_id=facts.certificate_id, owner_type=owner_type, owner_id=owner_id,
        serial_number=facts.serial_number, not_before=facts.not_before,
        not_after=facts.not_after, fingerprint_sha256=facts.fingerprint_sha256,
    )


def activate_user_certificate(
    facts: IssuedCertificate,
    owner_type: UserOwnerType,
    owner_id: uuid.UUID,
    enterprise_id: uuid.UUID | None,
    accepted: Sequence[tuple[str, str]],
    now: datetime,
) -> list[DomainEvent]:
    """The events starting a user's certificate stream (activation, then the public fact)."""
    activated = UserCertificateActivated(
        certificate_id=facts.certificate_id, owner_type=owner_type, owner_id=owner_id,
        enterprise_id=enterprise_id, key_id=facts.key_id, serial_number=facts.serial_number,
        subject=facts.subject, issuer=facts.issuer, not_before=facts.not_before,
        not_after=facts.not_after, fingerprint_sha256=facts.fingerprint_sha256,
        certificate_pem=facts.pem,
        accepted_agreements=[AcceptedAgreement(code=c, version=v) for c, v in accepted],
        activated_at=now,
    )
    return [activated, _issued_event(facts, owner_type, owner_id)]


def create_seal_certificate(
    facts: IssuedCertificate,
    seal_id: uuid.UUID,
    enterprise_id: uuid.UUID,
    seal_name: str,
    seal_type: str,
    subject_digest: str,
    now: datetime,
) -> list[DomainEvent]:
    created = SealCertificateCreated(
        certificate_id=facts.certificate_id, seal_id=seal_id, enterprise_id=enterprise_id,
        key_id=facts.key_id, serial_number=facts.serial_number, subject=facts.subject,
        issuer=facts.issuer, not_before=facts.not_before, not_after=facts.not_after,
        fingerprint_sha256=facts.fingerprint_sha256, certificate_pem=facts.pem, seal_name=seal_name,
        seal_type=seal_type, subject_digest=subject_digest, created_at=now,
    )
    return [created, _issued_event(facts, "seal", seal_id)]


def sm2_events(facts: IssuedCertificate, certificate_id: uuid.UUID, owner_type: OwnerType,
               owner_id: uuid.UUID, now: datetime) -> list[DomainEvent]:
    """The SM2 twin's facts (``facts.certificate_id`` is unused: the twin is this stream's)."""
    return [
        Sm2CertificateAdded(
            certificate_id=certificate_id, key_id=facts.key_id, serial_number=facts.serial_number,
            subject=facts.subject, issuer=facts.issuer, not_before=facts.not_before,
            not_after=facts.not_after, fingerprint_sha256=facts.fingerprint_sha256,
            certificate_pem=facts.pem, added_at=now),
        Sm2CertificateIssued(
            certificate_id=certificate_id, owner_type=owner_type, owner_id=owner_id,
            serial_number=facts.serial_number, not_before=facts.not_before,
            not_after=facts.not_after, fingerprint_sha256=facts.fingerprint_sha256),
    ]
