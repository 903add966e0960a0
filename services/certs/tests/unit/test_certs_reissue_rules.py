"""Reset and renewal as decisions of the certificate aggregate: the old one revoked
(superseded or keyCompromise), the new stream started; renewal only while live; the expiry
reminders, each once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from certs.domain import WrongPasswordPolicy
from certs.domain.certificate import (
    Certificate,
    IssuedCertificate,
    activate_user_certificate,
    create_seal_certificate,
    ensure_renewable,
    fold,
    reissue_user_certificate,
    reject_password,
    remind_expiry,
    revoke,
)
from certs.domain.errors import CertificateExpired
from certs.domain.errors import CertificateRevoked as CertificateRevokedError
from certs.domain.events import CertificateExpiryReminded

from shared.catalog import CertificateRevoked
from shared.events import DomainEvent

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
END = T0 + timedelta(days=730)


def _facts() -> IssuedCertificate:
    return IssuedCertificate(
        certificate_id=uuid.uuid4(), key_id=uuid.uuid4(), serial_number=uuid.uuid4().hex[:8].upper(),
        subject="CN=张三", issuer="CN=eseal Issuing CA 1", not_before=T0, not_after=END,
        fingerprint_sha256="00" * 32, pem="-----BEGIN CERTIFICATE-----\n...")


class Stream:
    """A certificate's events so far, and the state they fold to."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = list(
            activate_user_certificate(_facts(), "person", uuid.uuid4(), None, [], T0))

    @property
    def cert(self) -> Certificate:
        cert = fold(self.events)
        assert cert is not None
        return cert

    def add(self, events: list[DomainEvent]) -> Certificate:
        self.events += events
        return self.cert


def _cert() -> Certificate:
    return Stream().cert


def test_a_reset_revokes_the_old_one_superseded_and_starts_the_new_stream() -> None:
    old = _cert()
    facts = _facts()
    old_events, new_events = reissue_user_certificate(old, facts, None, "reset", T0)
    assert [type(e).__name__ for e in old_events] == ["CertificateRevoked"]
    revoked = old_events[0]
    assert isinstance(revoked, CertificateRevoked) and revoked.reason == "superseded"
    assert [type(e).__name__ for e in new_events] == ["UserCertificateReissued", "CertificateIssued"]
    new = fold(new_events)
    assert new is not None and new.certificate_id == facts.certificate_id
    assert new.owner_id == old.owner_id and new.status == "active" and new.version == 2


def test_a_locked_certificate_can_be_reset_and_a_compromised_key_says_so() -> None:
    stream = Stream()
    policy = WrongPasswordPolicy()
    for _ in range(5):
        events, _ = reject_password(stream.cert, policy, T0)
        stream.add(events)
    old = stream.cert
    assert old.attempts.locked_until is not None
    old_events, _ = reissue_user_certificate(old, _facts(), None, "reset", T0,
                                             key_compromised=True)
    revoked = old_events[0]
    assert isinstance(revoked, CertificateRevoked) and revoked.reason == "keyCompromise"


def test_a_revoked_certificate_is_not_replaced_nor_renewed() -> None:
    stream = Stream()
    gone = stream.add(revoke(stream.cert, "affiliation_changed", T0))
    with pytest.raises(CertificateRevokedError):
        reissue_user_certificate(gone, _facts(), None, "renewal", T0)
    with pytest.raises(CertificateRevokedError):
        ensure_renewable(gone, END, T0)


def test_renewal_is_before_expiry() -> None:
    cert = _cert()
    ensure_renewable(cert, END, END - timedelta(seconds=1))
    with pytest.raises(CertificateExpired):
        ensure_renewable(cert, END, END)


def test_reminders_30_then_7_days_before_each_once() -> None:
    stream = Stream()
    assert remind_expiry(stream.cert, END, END - timedelta(days=31)) == []
    first = remind_expiry(stream.cert, END, END - timedelta(days=29))
    assert [e.days_before for e in first if isinstance(e, CertificateExpiryReminded)] == [30]
    cert = stream.add(first)
    assert remind_expiry(cert, END, END - timedelta(days=20)) == []
    second = remind_expiry(cert, END, END - timedelta(days=6))
    assert [e.days_before for e in second if isinstance(e, CertificateExpiryReminded)] == [7]
    cert = stream.add(second)
    assert remind_expiry(cert, END, END - timedelta(days=1)) == []
    assert remind_expiry(_cert(), END, END) == []  # expired: nothing


def test_seal_certificates_get_no_reminder() -> None:
    seal = fold(create_seal_certificate(_facts(), uuid.uuid4(), uuid.uuid4(), "合同专用章",
                                        "contract", "digest", T0))
    assert seal is not None
    assert remind_expiry(seal, END, END - timedelta(days=6)) == []
