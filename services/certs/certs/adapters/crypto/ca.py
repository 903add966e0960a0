"""The platform CA: root, issuing CA, end-entity certificates and the CRL.

Pure functions of their inputs: time comes in as ``now`` (timezone-aware), keys and
serial numbers are the only randomness. All keys are ECDSA P-256, signatures SHA-256.

End-entity certificates carry no extendedKeyUsage on purpose: without it the key is
not restricted (RFC 5280 §4.2.1.12), which is what PDF validators (Adobe, pyHanko) want
for document signing; a TLS-style EKU such as clientAuth would make Adobe refuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.domain.subjects import (
    AgentSubject,
    EnterpriseSubject,
    PersonSubject,
    SealSubject,
    UserSubject,
)

from .signing import get_algorithm

__all__ = [
    "DEFAULT_CRL_URL",
    "ISSUING_VALIDITY",
    "PLATFORM_ORGANIZATION",
    "ROOT_VALIDITY",
    "SEAL_VALIDITY",
    "TSA_VALIDITY",
    "USER_VALIDITY",
    "RevokedEntry",
    "build_crl",
    "create_issuing_ca",
    "create_root",
    "issue_platform_certificate",
    "issue_seal_certificate",
    "issue_tsa_certificate",
    "issue_user_certificate",
    "new_serial",
]

PLATFORM_ORGANIZATION = "eseal platform"
DEFAULT_CRL_URL = "http://127.0.0.1:8080/api/v1/ca/crl"
ROOT_VALIDITY = timedelta(days=20 * 365)
ISSUING_VALIDITY = timedelta(days=10 * 365)
USER_VALIDITY = timedelta(days=2 * 365)
SEAL_VALIDITY = timedelta(days=5 * 365)
TSA_VALIDITY = timedelta(days=5 * 365)
# Backdating tolerates clocks of validating machines that run a little behind ours.
_BACKDATE = timedelta(minutes=5)

_SIGN_HASH = hashes.SHA256()


class RevokedEntry(NamedTuple):
    """One CRL entry; a plain ``(serial, revoked_at, reason)`` tuple works as well."""

    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags | str | None = None


def new_serial() -> int:
    """A random positive 159-bit serial (CA/B BR: at least 64 random bits)."""
    return x509.random_serial_number()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC)


def _platform_name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


def _signing_key_usage(non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=non_repudiation, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


def _crl_distribution(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([
        x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(url)],
            relative_name=None, reasons=None, crl_issuer=None,
        )
    ])


def _aki(issuing_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuing_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def _window(
    now: datetime, validity: timedelta, issuer: x509.Certificate | None
) -> tuple[datetime, datetime]:
    """Validity window; a child never outlives (nor predates) its issuer."""
    start, end = _utc(now) - _BACKDATE, _utc(now) + validity
    if issuer is not None:
        start = max(start, issuer.not_valid_before_utc)
        end = min(end, issuer.not_valid_after_utc)
    if end <= start:
        raise ValueError("issuer certificate has expired")
    return start, end


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    serial: int,
    window: tuple[datetime, datetime],
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(window[0])
        .not_valid_after(window[1])
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _end_entity(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    serial: int,
    window: tuple[datetime, datetime],
    crl_url: str | None,
) -> x509.CertificateBuilder:
    builder = (
        _builder(subject, issuing_cert.subject, public_key, serial, window)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_aki(issuing_cert), critical=False)
    )
    if crl_url:
        builder = builder.add_extension(_crl_distribution(crl_url), critical=False)
    return builder


# --- CA certificates -------------------------------------------------------------------


def create_root(
    name: str = "eseal Root CA",
    *,
    now: datetime,
    organization: str = PLATFORM_ORGANIZATION,
    validity: timedelta = ROOT_VALIDITY,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed root: CA:TRUE (critical), keyCertSign + cRLSign, SKI."""
    key = key or get_algorithm().generate_private_key()
    subject = _platform_name(name, organization)
    cert = (
        _builder(subject, subject, key.public_key(), new_serial(), _window(now, validity, None))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(key, _SIGN_HASH)
    )
    return key, cert


def create_issuing_ca(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    name: str = "eseal Issuing CA 1",
    *,
    now: datetime,
    organization: str = PLATFORM_ORGANIZATION,
    validity: timedelta = ISSUING_VALIDITY,
    crl_url: str | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The CA that signs users', seals' and the TSA's certificates: CA:TRUE, pathlen 0.

    ``crl_url`` points at the root's CRL (ARL); give it if validators should check the
    issuing CA's revocation in hard-fail mode.
    """
    key = key or get_algorithm().generate_private_key()
    builder = (
        _builder(_platform_name(name, organization), root_cert.subject, key.public_key(),
                 new_serial(), _window(now, validity, root_cert))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_aki(root_cert), critical=False)
    )
    if crl_url:
        builder = builder.add_extension(_crl_distribution(crl_url), critical=False)
    return key, builder.sign(root_key, _SIGN_HASH)


# --- end-entity certificates ----------------------------------------------------------


def _user_name(subject: UserSubject) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if isinstance(subject, EnterpriseSubject):
        attrs += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.uscc),
        ]
    elif isinstance(subject, AgentSubject):
        attrs += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.enterprise_name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.uscc),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, subject.id_number),
        ]
    elif isinstance(subject, PersonSubject):
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, subject.id_number))
    else:
        raise TypeError(f"not a user subject: {type(subject).__name__}")
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, subject.name))
    return x509.Name(attrs)


def _seal_name(subject: SealSubject) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.enterprise_name),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.uscc),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.seal_type_label),
        x509.NameAttribute(NameOID.COMMON_NAME, subject.seal_name),
    ])


def issue_user_certificate(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    subject: UserSubject,
    serial: int,
    validity: timedelta = USER_VALIDITY,
    *,
    now: datetime,
    crl_url: str | None = DEFAULT_CRL_URL,
) -> x509.Certificate:
    """A person's / enterprise's / agent's signing certificate (digitalSignature +
    nonRepudiation, critical). The real ID number goes into serialNumber, as a CA must."""
    builder = _end_entity(issuing_key, issuing_cert, public_key, _user_name(subject), serial,
                          _window(now, validity, issuing_cert), crl_url)
    return builder.add_extension(_signing_key_usage(True), critical=True).sign(issuing_key, _SIGN_HASH)


def issue_seal_certificate(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    subject: SealSubject,
    serial: int,
    validity: timedelta = SEAL_VALIDITY,
    *,
    now: datetime,
    crl_url: str | None = DEFAULT_CRL_URL,
) -> x509.Certificate:
    """One certificate per seal: O/organizationIdentifier = enterprise, OU = seal type
    label, CN = seal name; digitalSignature + nonRepudiation (critical)."""
    builder = _end_entity(issuing_key, issuing_cert, public_key, _seal_name(subject), serial,
                          _window(now, validity, issuing_cert), crl_url)
    return builder.add_extension(_signing_key_usage(True), critical=True).sign(issuing_key, _SIGN_HASH)


def issue_tsa_certificate(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    name: str = "eseal Time Stamping Authority",
    serial: int | None = None,
    validity: timedelta = TSA_VALIDITY,
    *,
    now: datetime,
    organization: str = PLATFORM_ORGANIZATION,
    crl_url: str | None = DEFAULT_CRL_URL,
) -> x509.Certificate:
    """RFC 3161 §2.3: the only EKU is timeStamping, and it is critical."""
    builder = _end_entity(issuing_key, issuing_cert, public_key, _platform_name(name, organization),
                          serial or new_serial(), _window(now, validity, issuing_cert), crl_url)
    return (
        builder.add_extension(_signing_key_usage(False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(issuing_key, _SIGN_HASH)
    )


def issue_platform_certificate(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    name: str = "eseal Platform Sealing Certificate",
    validity: timedelta = SEAL_VALIDITY,
    *,
    now: datetime,
    organization: str = PLATFORM_ORGANIZATION,
    crl_url: str | None = DEFAULT_CRL_URL,
) -> x509.Certificate:
    """The platform's own document-signing certificate (it seals the evidence reports the
    platform issues): digitalSignature + nonRepudiation (critical), like a seal's."""
    builder = _end_entity(issuing_key, issuing_cert, public_key, _platform_name(name, organization),
                          new_serial(), _window(now, validity, issuing_cert), crl_url)
    return builder.add_extension(_signing_key_usage(True), critical=True).sign(issuing_key, _SIGN_HASH)


# --- CRL ---------------------------------------------------------------------------------


def _reason(value: x509.ReasonFlags | str | None) -> x509.ReasonFlags | None:
    """Accept the enum, its name ("key_compromise") or its RFC value ("keyCompromise")."""
    if value is None or isinstance(value, x509.ReasonFlags):
        return value
    if value in x509.ReasonFlags.__members__:
        return x509.ReasonFlags[value]
    return x509.ReasonFlags(value)


def _revoked(entry: RevokedEntry) -> x509.RevokedCertificate:
    builder = (
        x509.RevokedCertificateBuilder()
        .serial_number(entry.serial)
        .revocation_date(_utc(entry.revoked_at))
    )
    reason = _reason(entry.reason)
    # RFC 5280 §5.3.1: "unspecified" SHOULD be expressed by leaving the reason out
    if reason is not None and reason is not x509.ReasonFlags.unspecified:
        builder = builder.add_extension(x509.CRLReason(reason), critical=False)
    return builder.build()


def build_crl(
    issuing_key: ec.EllipticCurvePrivateKey,
    issuing_cert: x509.Certificate,
    revoked: Sequence[RevokedEntry | tuple[int, datetime, x509.ReasonFlags | str | None]],
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> bytes:
    """A DER CRL with CRL number and AKI. ``crl_number`` must grow with each issue."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing_cert.subject)
        .last_update(_utc(this_update))
        .next_update(_utc(next_update))
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(_aki(issuing_cert), critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(_revoked(RevokedEntry(*entry)))
    return builder.sign(issuing_key, _SIGN_HASH).public_bytes(Encoding.DER)
