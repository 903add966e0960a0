"""Test PKI shared by the certs unit tests (a distinct module name: tests of all
services share one pytest run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from certs.adapters.crypto import ca
from certs.adapters.crypto.signing import get_algorithm
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

# One moment for the whole run: tests pass it explicitly, nothing reads the clock.
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Pki:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey
    issuing: x509.Certificate
    tsa_key: ec.EllipticCurvePrivateKey
    tsa: x509.Certificate


def make_pki(now: datetime = NOW) -> Pki:
    root_key, root = ca.create_root(now=now)
    issuing_key, issuing = ca.create_issuing_ca(root_key, root, now=now)
    tsa_key = get_algorithm().generate_private_key()
    tsa = ca.issue_tsa_certificate(issuing_key, issuing, tsa_key.public_key(), now=now)
    return Pki(root_key, root, issuing_key, issuing, tsa_key, tsa)
