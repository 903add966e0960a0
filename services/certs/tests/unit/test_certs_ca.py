from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from certs.adapters.crypto import ca
from certs.adapters.crypto.signing import get_algorithm
from certs.domain import (
    AgentSubject,
    EnterpriseSubject,
    PersonSubject,
    SealSubject,
    UserSubject,
)
from certs_pki import Pki
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)

E = TypeVar("E", bound=x509.ExtensionType)

PERSON = PersonSubject(name="张三", id_number="11010519491231002X")
ENTERPRISE = EnterpriseSubject(name="吉林省某某科技有限公司", uscc="91220101MA0Y3XXXXA")
SEAL = SealSubject(
    enterprise_name=ENTERPRISE.name, uscc=ENTERPRISE.uscc,
    seal_name="吉林省某某科技有限公司合同专用章", seal_type_label="合同专用章",
)


def _issue_user(pki: Pki, now: datetime, subject: UserSubject = PERSON) -> x509.Certificate:
    key = get_algorithm().generate_private_key()
    return ca.issue_user_certificate(
        pki.issuing_key, pki.issuing, key.public_key(), subject, ca.new_serial(), now=now
    )


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def _ext(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


def test_root_is_self_signed_ca(pki: Pki) -> None:
    pki.root.verify_directly_issued_by(pki.root)
    bc = _ext(pki.root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = _ext(pki.root, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert _attr(pki.root, NameOID.COMMON_NAME) == ["eseal Root CA"]
    assert pki.root.not_valid_after_utc - pki.root.not_valid_before_utc > timedelta(days=19 * 365)


def test_issuing_ca_has_pathlen_zero_and_key_ids(pki: Pki) -> None:
    pki.issuing.verify_directly_issued_by(pki.root)
    bc = _ext(pki.issuing, x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    aki = _ext(pki.issuing, x509.AuthorityKeyIdentifier).value
    root_ski = _ext(pki.root, x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest


def test_user_certificate_chains_to_root(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now)
    cert.verify_directly_issued_by(pki.issuing)
    pki.issuing.verify_directly_issued_by(pki.root)


def test_user_certificate_passes_path_validation(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now)
    # a client verifier with our own end-entity policy: no SAN/EKU, but a critical KU
    ee = ExtensionPolicy.permit_all().require_present(x509.KeyUsage, Criticality.CRITICAL, None)
    verifier = (
        PolicyBuilder().store(Store([pki.root])).time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    chain = verifier.verify(cert, [pki.issuing]).chain
    assert chain == [cert, pki.issuing, pki.root]


def test_person_subject_and_key_usage(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now)
    assert _attr(cert, NameOID.COMMON_NAME) == ["张三"]
    assert _attr(cert, NameOID.SERIAL_NUMBER) == ["11010519491231002X"]
    assert _attr(cert, NameOID.COUNTRY_NAME) == ["CN"]
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not _ext(cert, x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.ExtendedKeyUsage)


def test_enterprise_subject_carries_uscc(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now, ENTERPRISE)
    assert _attr(cert, NameOID.COMMON_NAME) == [ENTERPRISE.name]
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == [ENTERPRISE.name]
    assert _attr(cert, NameOID.ORGANIZATION_IDENTIFIER) == [ENTERPRISE.uscc]


def test_agent_subject_names_person_and_enterprise(pki: Pki, now: datetime) -> None:
    agent = AgentSubject("李四", "220102199003070012", ENTERPRISE.name, ENTERPRISE.uscc)
    cert = _issue_user(pki, now, agent)
    assert _attr(cert, NameOID.COMMON_NAME) == ["李四"]
    assert _attr(cert, NameOID.SERIAL_NUMBER) == ["220102199003070012"]
    assert _attr(cert, NameOID.ORGANIZATION_IDENTIFIER) == [ENTERPRISE.uscc]


def test_user_certificate_has_crl_point_and_key_ids(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now)
    points = _ext(cert, x509.CRLDistributionPoints).value
    assert [n.value for n in points[0].full_name] == [ca.DEFAULT_CRL_URL]
    issuing_ski = _ext(pki.issuing, x509.SubjectKeyIdentifier).value
    aki = _ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == issuing_ski.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value.digest == (
        x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    )


def test_user_certificate_never_outlives_issuer(pki: Pki, now: datetime) -> None:
    key = get_algorithm().generate_private_key()
    cert = ca.issue_user_certificate(
        pki.issuing_key, pki.issuing, key.public_key(), PERSON, ca.new_serial(),
        timedelta(days=100 * 365), now=now,
    )
    assert cert.not_valid_after_utc == pki.issuing.not_valid_after_utc


def test_seal_certificate_subject(pki: Pki, now: datetime) -> None:
    key = get_algorithm().generate_private_key()
    cert = ca.issue_seal_certificate(
        pki.issuing_key, pki.issuing, key.public_key(), SEAL, ca.new_serial(), now=now
    )
    cert.verify_directly_issued_by(pki.issuing)
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == [ENTERPRISE.name]
    assert _attr(cert, NameOID.ORGANIZATION_IDENTIFIER) == [ENTERPRISE.uscc]
    assert _attr(cert, NameOID.COMMON_NAME) == [SEAL.seal_name]
    assert _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["合同专用章"]
    assert _ext(cert, x509.KeyUsage).value.content_commitment


def test_tsa_certificate_has_critical_time_stamping_eku(pki: Pki) -> None:
    eku = _ext(pki.tsa, x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_revoked_serial_is_in_crl_signed_by_issuing_ca(pki: Pki, now: datetime) -> None:
    cert = _issue_user(pki, now)
    der = ca.build_crl(
        pki.issuing_key, pki.issuing,
        [(cert.serial_number, now, "key_compromise"), ca.RevokedEntry(12345, now, None)],
        this_update=now, next_update=now + timedelta(days=1), crl_number=7,
    )
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(pki.issuing.public_key())  # type: ignore[arg-type]
    assert not crl.is_signature_valid(pki.root.public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value
    assert reason.reason is x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(ca.new_serial()) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert crl.issuer == pki.issuing.subject


def test_naive_time_is_refused(pki: Pki) -> None:
    with pytest.raises(ValueError):
        ca.create_root(now=datetime(2026, 1, 1))


def test_random_serials_are_large_and_distinct() -> None:
    serials = {ca.new_serial() for _ in range(100)}
    assert len(serials) == 100 and all(0 < s < 2**159 for s in serials)


def test_platform_certificate_signs_documents_in_the_platform_name(pki: Pki, now: datetime) -> None:
    """The platform's own sealing certificate (evidence reports): issued by the issuing CA,
    named for the platform, digitalSignature + nonRepudiation, no EKU, not a CA."""
    key = get_algorithm().generate_private_key()
    cert = ca.issue_platform_certificate(pki.issuing_key, pki.issuing, key.public_key(), now=now)
    cert.verify_directly_issued_by(pki.issuing)
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == [ca.PLATFORM_ORGANIZATION]
    assert _attr(cert, NameOID.COMMON_NAME) == ["eseal Platform Sealing Certificate"]
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not _ext(cert, x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.ExtendedKeyUsage)
