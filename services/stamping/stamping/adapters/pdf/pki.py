"""Conversions between `cryptography` and asn1crypto objects (pyHanko speaks asn1crypto)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import ValidationContext

CertLike: TypeAlias = asn1_x509.Certificate | pyca_x509.Certificate | bytes  # bytes: DER or PEM
CrlLike: TypeAlias = asn1_crl.CertificateList | pyca_x509.CertificateRevocationList | bytes


def _der(data: bytes) -> bytes:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def as_asn1_cert(cert: CertLike) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, pyca_x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    return asn1_x509.Certificate.load(_der(cert))


def as_asn1_crl(crl: CrlLike) -> asn1_crl.CertificateList:
    if isinstance(crl, asn1_crl.CertificateList):
        return crl
    if isinstance(crl, pyca_x509.CertificateRevocationList):
        return asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER))
    return asn1_crl.CertificateList.load(_der(crl))


def as_asn1_chain(chain: Sequence[CertLike]) -> list[asn1_x509.Certificate]:
    certs = [as_asn1_cert(c) for c in chain]
    if not certs:
        raise ValueError("certificate chain is empty (expected seal cert first)")
    return certs


def offline_validation_context(
    trust_roots: Iterable[CertLike],
    *,
    crls: Iterable[CrlLike] = (),
    other_certs: Iterable[CertLike] = (),
) -> ValidationContext:
    """A validation context that trusts only ``trust_roots`` and never goes online.

    ``hard-fail``: a certificate that names a CRL/OCSP location must have fresh
    revocation data among ``crls``; this is what makes the embedded DSS complete.
    A ValidationContext caches results, so build one per operation.
    """
    return ValidationContext(
        trust_roots=[as_asn1_cert(c) for c in trust_roots],
        other_certs=[as_asn1_cert(c) for c in other_certs],
        crls=[as_asn1_crl(c) for c in crls],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
