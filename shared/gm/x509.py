"""SM2 certificates and CRLs (GM/T 0015, RFC 5280 profile) built and checked without OpenSSL.

`cryptography` cannot sign with SM2, so the TBSCertificate / TBSCertList is laid out in DER
with asn1crypto and signed here with SM2-with-SM3 (default user ID, as GM/T 0015 requires).
Every certificate carries: SM2 public key (id-ecPublicKey + sm2p256v1), signatureAlgorithm
1.2.156.10197.1.501 with absent parameters, SKI/AKI, basicConstraints, keyUsage.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import core, crl, pem, x509

from shared.gm import oids
from shared.gm.errors import GmError, MalformedData, UnsupportedAlgorithm
from shared.gm.sm2 import Sm2PrivateKey, Sm2PublicKey
from shared.gm.sm3 import sm3

NameSpec = Mapping[str, str]  # asn1crypto attribute names: common_name, organization_name, ...

SEAL_MAKER_PURPOSE = "seal-maker"


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: str | None = None  # asn1crypto CRLReason name, e.g. "key_compromise"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _time(dt: datetime) -> x509.Time:
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
    return x509.Time({"utc_time": dt} if dt.year < 2050 else {"general_time": dt})


def _name(spec: NameSpec) -> x509.Name:
    return x509.Name.build(dict(spec), use_printable=False)


def key_identifier(public_key: Sm2PublicKey) -> bytes:
    """RFC 7093 §2 style identifier: leftmost 160 bits of SM3 over the public key bits."""
    return sm3(public_key.point)[:20]


def _signature_algorithm() -> x509.SignedDigestAlgorithm:
    return x509.SignedDigestAlgorithm({"algorithm": oids.SM2_WITH_SM3})


def public_key_of(cert: x509.Certificate) -> Sm2PublicKey:
    return Sm2PublicKey.from_spki(cert["tbs_certificate"]["subject_public_key_info"])


def _extensions(
    public_key: Sm2PublicKey,
    issuer_key: Sm2PublicKey,
    *,
    ca: bool,
    path_len: int | None,
    key_usage: set[str],
    extended_key_usage: list[str] | None,
) -> list[dict[str, object]]:
    ext: list[dict[str, object]] = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": ca, "path_len_constraint": path_len if ca else None},
        },
        {"extn_id": "key_usage", "critical": True, "extn_value": key_usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier(public_key)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": key_identifier(issuer_key)},
        },
    ]
    if extended_key_usage:
        ext.append({"extn_id": "extended_key_usage", "critical": False, "extn_value": extended_key_usage})
    return ext


def _issue(
    *,
    subject: NameSpec | x509.Name,
    public_key: Sm2PublicKey,
    issuer: x509.Certificate | None,
    issuer_key: Sm2PrivateKey,
    valid_days: int,
    ca: bool,
    path_len: int | None = None,
    key_usage: set[str],
    extended_key_usage: list[str] | None = None,
    not_before: datetime | None = None,
) -> x509.Certificate:
    start = not_before or _now()
    subject_name = subject if isinstance(subject, x509.Name) else _name(subject)
    issuer_name = issuer.subject if issuer is not None else subject_name
    if issuer is not None and public_key_of(issuer) != issuer_key.public_key:
        raise ValueError("issuer key does not belong to the issuer certificate")
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(159) | 1 << 158,  # positive, 20 bytes, unguessable
            "signature": _signature_algorithm(),
            "issuer": issuer_name,
            "validity": {"not_before": _time(start), "not_after": _time(start + timedelta(days=valid_days))},
            "subject": subject_name,
            "subject_public_key_info": public_key.to_spki(),
            "extensions": _extensions(
                public_key,
                issuer_key.public_key,
                ca=ca,
                path_len=path_len,
                key_usage=key_usage,
                extended_key_usage=extended_key_usage,
            ),
        }
    )
    signature = issuer_key.sign(tbs.dump())
    return x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": _signature_algorithm(), "signature_value": signature}
    )


def create_root(key: Sm2PrivateKey, subject: NameSpec, *, valid_days: int = 7300) -> x509.Certificate:
    return _issue(
        subject=subject,
        public_key=key.public_key,
        issuer=None,
        issuer_key=key,
        valid_days=valid_days,
        ca=True,
        path_len=1,
        key_usage={"key_cert_sign", "crl_sign"},
    )


def create_issuing_ca(
    public_key: Sm2PublicKey,
    subject: NameSpec,
    root: x509.Certificate,
    root_key: Sm2PrivateKey,
    *,
    valid_days: int = 3650,
) -> x509.Certificate:
    return _issue(
        subject=subject,
        public_key=public_key,
        issuer=root,
        issuer_key=root_key,
        valid_days=valid_days,
        ca=True,
        path_len=0,
        key_usage={"key_cert_sign", "crl_sign"},
    )


def _end_entity(
    public_key: Sm2PublicKey,
    subject: NameSpec,
    ca: x509.Certificate,
    ca_key: Sm2PrivateKey,
    valid_days: int,
    eku: list[str] | None = None,
) -> x509.Certificate:
    return _issue(
        subject=subject,
        public_key=public_key,
        issuer=ca,
        issuer_key=ca_key,
        valid_days=valid_days,
        ca=False,
        key_usage={"digital_signature", "non_repudiation"},
        extended_key_usage=eku,
    )


def issue_person_certificate(
    public_key: Sm2PublicKey,
    *,
    name: str,
    person_id: str,
    ca: x509.Certificate,
    ca_key: Sm2PrivateKey,
    valid_days: int = 730,
) -> x509.Certificate:
    """``person_id`` is the platform's opaque id (never an ID-card number: that stays hashed)."""
    subject = {"country_name": "CN", "common_name": name, "serial_number": person_id}
    return _end_entity(public_key, subject, ca, ca_key, valid_days)


def issue_seal_certificate(
    public_key: Sm2PublicKey,
    *,
    seal_name: str,
    enterprise_name: str,
    seal_id: str,
    ca: x509.Certificate,
    ca_key: Sm2PrivateKey,
    valid_days: int = 730,
) -> x509.Certificate:
    subject = {
        "country_name": "CN",
        "organization_name": enterprise_name,
        "common_name": seal_name,
        "serial_number": seal_id,
    }
    return _end_entity(public_key, subject, ca, ca_key, valid_days)


def issue_seal_maker_certificate(
    public_key: Sm2PublicKey,
    *,
    organization: str,
    ca: x509.Certificate,
    ca_key: Sm2PrivateKey,
    common_name: str = "电子印章制章系统",
    valid_days: int = 1825,
) -> x509.Certificate:
    """The 制章 certificate whose key signs every SES_Seal (GB/T 38540 §5.2)."""
    subject = {
        "country_name": "CN",
        "organization_name": organization,
        "organizational_unit_name": SEAL_MAKER_PURPOSE,
        "common_name": common_name,
    }
    return _end_entity(public_key, subject, ca, ca_key, valid_days)


def build_crl(
    issuer: x509.Certificate,
    issuer_key: Sm2PrivateKey,
    revoked: Iterable[RevokedEntry],
    *,
    crl_number: int,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
) -> crl.CertificateList:
    start = this_update or _now()
    entries = []
    for item in revoked:
        entry: dict[str, object] = {
            "user_certificate": item.serial,
            "revocation_date": _time(item.revoked_at),
        }
        if item.reason:
            entry["crl_entry_extensions"] = [
                {"extn_id": "crl_reason", "critical": False, "extn_value": item.reason}
            ]
        entries.append(entry)
    tbs = crl.TbsCertList(
        {
            "version": "v2",
            "signature": _signature_algorithm(),
            "issuer": issuer.subject,
            "this_update": _time(start),
            "next_update": _time(next_update or start + timedelta(days=1)),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": key_identifier(issuer_key.public_key)},
                },
            ],
        }
    )
    return crl.CertificateList(
        {
            "tbs_cert_list": tbs,
            "signature_algorithm": _signature_algorithm(),
            "signature": issuer_key.sign(tbs.dump()),
        }
    )


def load_certificate(data: bytes) -> x509.Certificate:
    """DER or PEM; refuses trailing data and anything but an SM2 key signed with SM2-with-SM3."""
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        cert = x509.Certificate.load(data, strict=True)
        # Parse now what verifiers use, not later inside them. Names are compared as DER and
        # not forced: deployed Chinese CA certificates put UTF8String where X.520 wants other
        # types (e.g. x500UniqueIdentifier), which asn1crypto refuses on a full parse.
        tbs = cert["tbs_certificate"]
        for part in ("version", "serial_number", "signature", "validity", "subject_public_key_info"):
            _ = tbs[part].native
        _ = (cert["signature_algorithm"].native, cert["signature_value"].native)
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedData(f"certificate unreadable: {e}") from None
    if cert["signature_algorithm"]["algorithm"].dotted != oids.SM2_WITH_SM3:
        raise UnsupportedAlgorithm("certificate is not signed with SM2-with-SM3")
    public_key_of(cert)  # raises unless the key is SM2
    return cert


def _signed_by(
    tbs: core.Asn1Value, algorithm: x509.SignedDigestAlgorithm, signature: bytes, issuer_key: Sm2PublicKey
) -> bool:
    if algorithm["algorithm"].dotted != oids.SM2_WITH_SM3:
        return False
    # Verify the bytes as received (tbs.dump() returns the original encoding when unmodified).
    return issuer_key.verify(tbs.dump(), signature)


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    if a.dump() == b.dump():
        return True
    try:
        return bool(a == b)  # RFC 5280 §7.1 comparison (case/space folding)
    except (ValueError, TypeError):
        return False


def verify_certificate(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True iff ``issuer`` names and signed ``cert`` (signature only: no dates, no revocation)."""
    tbs = cert["tbs_certificate"]
    if not _same_name(tbs["issuer"], issuer["tbs_certificate"]["subject"]):
        return False
    if tbs["signature"].dump() != cert["signature_algorithm"].dump():
        return False  # RFC 5280 §4.1.1.2: the inner and outer algorithm must agree
    try:
        issuer_key = public_key_of(issuer)
    except (GmError, ValueError):
        return False
    return _signed_by(tbs, cert["signature_algorithm"], bytes(cert["signature_value"].native), issuer_key)


def verify_crl(certificate_list: crl.CertificateList, issuer: x509.Certificate) -> bool:
    tbs = certificate_list["tbs_cert_list"]
    if not _same_name(tbs["issuer"], issuer["tbs_certificate"]["subject"]):
        return False
    try:
        issuer_key = public_key_of(issuer)
    except GmError:
        return False
    return _signed_by(
        tbs,
        certificate_list["signature_algorithm"],
        bytes(certificate_list["signature"].native),
        issuer_key,
    )


def is_valid_at(cert: x509.Certificate, at: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= at <= validity["not_after"].native)


def to_pem(obj: x509.Certificate | crl.CertificateList) -> bytes:
    kind = "X509 CRL" if isinstance(obj, crl.CertificateList) else "CERTIFICATE"
    return bytes(pem.armor(kind, obj.dump()))
