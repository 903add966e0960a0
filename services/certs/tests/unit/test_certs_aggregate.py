"""The certificate aggregate: folding, the wrong-password counter, revocation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from certs.domain import CertificateLocked, WrongCertificatePassword, WrongPasswordPolicy
from certs.domain.certificate import (
    Certificate,
    IssuedCertificate,
    accept_password,
    activate_user_certificate,
    add_sm2,
    change_password,
    create_seal_certificate,
    ensure_unlocked,
    fold,
    reject_password,
    revoke,
)
from certs.domain.errors import CertificateRevoked as CertificateRevokedError
from certs.domain.events import CertificatePasswordRejected

from shared.catalog import CertificateIssued, CertificateRevoked
from shared.events import DomainEvent

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
POLICY = WrongPasswordPolicy()


def _facts() -> IssuedCertificate:
    return IssuedCertificate(
        certificate_id=uuid.uuid4(), key_id=uuid.uuid4(), serial_number="1A2B",
        subject="CN=张三,serialNumber=**************002X,C=CN", issuer="CN=eseal Issuing CA 1",
        not_before=T0, not_after=T0 + timedelta(days=730), fingerprint_sha256="00" * 32,
        pem="-----BEGIN CERTIFICATE-----\n...",
    )


def _activated() -> tuple[Certificate, list[DomainEvent]]:
    events = activate_user_certificate(_facts(), "person", uuid.uuid4(), None,
                                       [("certificate_service", "2026-01")], T0)
    cert = fold(events)
    assert cert is not None
    return cert, list(events)


def test_activation_starts_a_stream_with_the_public_fact_last() -> None:
    cert, events = _activated()
    assert [type(e).__name__ for e in events] == ["UserCertificateActivated", "CertificateIssued"]
    issued = events[1]
    assert isinstance(issued, CertificateIssued) and issued.owner_type == "person"
    assert cert.version == 2 and cert.status == "active" and cert.attempts.failures == 0
    # nothing secret in any event
    text = "".join(e.model_dump_json() for e in events)
    assert "password" not in text.lower() and "PRIVATE" not in text


def test_seal_certificate_stream() -> None:
    seal_id = uuid.uuid4()
    events = create_seal_certificate(_facts(), seal_id, uuid.uuid4(), "公章", "official", "d", T0)
    cert = fold(events)
    assert cert is not None and cert.owner_type == "seal" and cert.owner_id == seal_id
    assert not cert.is_user_certificate


def _fold(cert: Certificate, events: list[DomainEvent], more: list[DomainEvent]) -> Certificate:
    events.extend(more)
    folded = fold(events)
    assert folded is not None
    return folded


def test_wrong_passwords_fold_into_a_lock_that_lifts() -> None:
    cert, events = _activated()
    for left in (4, 3, 2, 1):
        more, error = reject_password(cert, POLICY, T0)
        assert isinstance(error, WrongCertificatePassword) and error.attempts_left == left
        cert = _fold(cert, events, more)
    more, error = reject_password(cert, POLICY, T0)
    assert isinstance(error, CertificateLocked)
    rejected = more[0]
    assert isinstance(rejected, CertificatePasswordRejected)
    assert rejected.locked_until == T0 + timedelta(minutes=15)
    cert = _fold(cert, events, more)
    with pytest.raises(CertificateLocked):
        ensure_unlocked(cert, POLICY, T0 + timedelta(minutes=14))
    ensure_unlocked(cert, POLICY, T0 + timedelta(minutes=15))
    # after the lock the count starts again, and a right password records the reset
    more, error = reject_password(cert, POLICY, T0 + timedelta(minutes=16))
    assert isinstance(error, WrongCertificatePassword) and error.attempts_left == 4
    cert = _fold(cert, events, more)
    reset = accept_password(cert, POLICY, T0 + timedelta(minutes=17))
    assert [type(e).__name__ for e in reset] == ["CertificatePasswordAccepted"]
    cert = _fold(cert, events, reset)
    assert cert.attempts.failures == 0
    assert accept_password(cert, POLICY, T0) == []  # nothing to record when nothing failed


def test_password_change_resets_the_counter() -> None:
    cert, events = _activated()
    more, _ = reject_password(cert, POLICY, T0)
    cert = _fold(cert, events, more)
    cert = _fold(cert, events, change_password(cert, T0))
    assert cert.attempts.failures == 0


def test_revocation_is_final_and_recorded_once() -> None:
    cert, events = _activated()
    more = revoke(cert, "affiliation_changed", T0)
    assert isinstance(more[0], CertificateRevoked) and more[0].serial_number == "1A2B"
    cert = _fold(cert, events, more)
    assert cert.status == "revoked" and cert.revoked_at == T0
    assert revoke(cert, "again", T0 + timedelta(days=1)) == []
    with pytest.raises(CertificateRevokedError):
        ensure_unlocked(cert, POLICY, T0)
    with pytest.raises(CertificateRevokedError):
        change_password(cert, T0)


def test_a_stream_must_start_with_its_creation() -> None:
    with pytest.raises(ValueError):
        fold([CertificateRevoked(
            certificate_id=uuid.uuid4(), serial_number="1", reason="x", revoked_at=T0)])


def test_sm2_twin_is_added_once_and_never_to_a_revoked_certificate() -> None:
    cert, events = _activated()
    twin = _facts()
    added = add_sm2(cert, twin, T0)
    assert [type(e).__name__ for e in added] == ["Sm2CertificateAdded", "Sm2CertificateIssued"]
    assert all(getattr(e, "certificate_id", None) == cert.certificate_id for e in added)
    with_twin = fold([*events, *added])
    assert with_twin is not None and with_twin.has_sm2
    assert with_twin.sm2_key_id == twin.key_id and with_twin.sm2_serial_number == twin.serial_number
    assert with_twin.version == 4
    assert add_sm2(with_twin, _facts(), T0) == []  # once
    # the twin shares the certificate's counter and revocation: nothing of its own
    revoked = fold([*events, *revoke(with_twin, "key_compromise", T0)])
    assert revoked is not None
    with pytest.raises(CertificateRevokedError):
        add_sm2(revoked, _facts(), T0)
    text = "".join(e.model_dump_json() for e in added)
    assert "PRIVATE" not in text and "password" not in text.lower()
