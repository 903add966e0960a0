"""The platform CA as the service holds it: created once, kept in certs' database.

On first start one process creates the root, the issuing CA, the TSA certificate and the
platform's own sealing certificate and stores them with their private keys wrapped by the
master key; replicas starting at the same time wait on an advisory lock and load what the
first one stored. The unwrapped CA keys live only in this process's memory.

The platform certificate (role ``platform``) signs what the platform itself issues — the
evidence report (出证报告) of a usage record — never a user's document. A database made before
it existed gets it on the first start that finds it missing, under the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certs.domain.subjects import SealSubject, UserSubject
from certs.service_layer.ports import Clock
from shared.db import Conn
from shared.logging import get_logger

from .crypto import ca
from .crypto.describe import to_pem
from .crypto.keywrap import MasterKey, make_aad, unwrap_with_master, wrap_with_master
from .crypto.signing import get_algorithm, load_private_key_der, private_key_to_der
from .crypto.tsa import DEFAULT_POLICY_OID, TimestampAuthority

log = get_logger(__name__)

_CA_LOCK = 0x63_6572_7473_4341  # "certsCA": serialises CA creation across replicas
ROLES = ("root", "issuing", "tsa")  # made together with the CA
PLATFORM = "platform"  # made with the CA, or on the first start after an upgrade


@dataclass(frozen=True)
class CrlUrls:
    """Where validators fetch revocation lists (written into certificates)."""

    issuing: str  # CRL of the issuing CA: end-entity certificates
    root: str  # the root's list (ARL) for the issuing CA itself

    @classmethod
    def under(cls, public_base_url: str) -> CrlUrls:
        base = public_base_url.rstrip("/") + "/api/v1/ca"
        return cls(issuing=f"{base}/crl", root=f"{base}/root.crl")


@dataclass(frozen=True)
class CaMaterial:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey
    issuing: x509.Certificate
    tsa_key: ec.EllipticCurvePrivateKey
    tsa: x509.Certificate
    platform_key: ec.EllipticCurvePrivateKey
    platform: x509.Certificate


def _aad(role: str) -> bytes:
    return make_aad("ca-key", role)


def create_material(now: datetime, urls: CrlUrls) -> CaMaterial:
    root_key, root = ca.create_root(now=now)
    issuing_key, issuing = ca.create_issuing_ca(root_key, root, now=now, crl_url=urls.root)
    tsa_key = get_algorithm().generate_private_key()
    tsa = ca.issue_tsa_certificate(issuing_key, issuing, tsa_key.public_key(), now=now,
                                   crl_url=urls.issuing)
    platform_key, platform = _platform_certificate(issuing_key, issuing, now, urls)
    return CaMaterial(root_key, root, issuing_key, issuing, tsa_key, tsa, platform_key, platform)


def _platform_certificate(issuing_key: ec.EllipticCurvePrivateKey, issuing: x509.Certificate,
                          now: datetime, urls: CrlUrls
                          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = get_algorithm().generate_private_key()
    return key, ca.issue_platform_certificate(issuing_key, issuing, key.public_key(), now=now,
                                              crl_url=urls.issuing)


def _row(master: MasterKey, role: str, key: ec.EllipticCurvePrivateKey,
         cert: x509.Certificate) -> tuple[str, bytes, bytes]:
    return (role, cert.public_bytes(Encoding.DER),
            wrap_with_master(master, private_key_to_der(key), _aad(role)))


async def load_or_create(conn: Conn, master: MasterKey, now: datetime,
                         urls: CrlUrls) -> tuple[CaMaterial, bool]:
    """The stored CA, or a new one stored now. Returns ``(material, created)``."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _CA_LOCK)
        rows = {r["role"]: r for r in await conn.fetch(
            "SELECT role, certificate_der, wrapped_key FROM authorities")}
        if not rows:
            material = create_material(now, urls)
            await conn.executemany(
                "INSERT INTO authorities (role, certificate_der, wrapped_key) VALUES ($1, $2, $3)",
                [_row(master, role, key, cert)
                 for role, key, cert in (("root", material.root_key, material.root),
                                         ("issuing", material.issuing_key, material.issuing),
                                         ("tsa", material.tsa_key, material.tsa),
                                         (PLATFORM, material.platform_key, material.platform))])
            log.info("ca_created", root_serial=format(material.root.serial_number, "X"),
                     issuing_serial=format(material.issuing.serial_number, "X"),
                     platform_serial=format(material.platform.serial_number, "X"))
            return material, True
        missing = set(ROLES) - set(rows)
        if missing:
            raise RuntimeError(f"CA material incomplete in the database: missing {sorted(missing)}")

        def part(role: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
            # MasterKeyMismatch here means ESEAL_MASTER_KEY is not the key the CA was made with
            key = load_private_key_der(unwrap_with_master(master, rows[role]["wrapped_key"], _aad(role)))
            return key, x509.load_der_x509_certificate(rows[role]["certificate_der"])

        (rk, rc), (ik, ic), (tk, tc) = part("root"), part("issuing"), part("tsa")
        if PLATFORM in rows:
            pk, pc = part(PLATFORM)
        else:  # a CA made before the platform certificate: issue it now, once
            pk, pc = _platform_certificate(ik, ic, now, urls)
            await conn.execute("INSERT INTO authorities (role, certificate_der, wrapped_key)"
                               " VALUES ($1, $2, $3)", *_row(master, PLATFORM, pk, pc))
            log.info("platform_certificate_created", platform_serial=format(pc.serial_number, "X"))
    return CaMaterial(rk, rc, ik, ic, tk, tc, pk, pc), False


class CertificateAuthority:
    """Issues certificates and CRLs with the loaded CA; answers RFC 3161 requests."""

    def __init__(self, material: CaMaterial, urls: CrlUrls, clock: Clock) -> None:
        self.material = material
        self.urls = urls
        self.root_pem = to_pem(material.root)
        self.issuing_pem = to_pem(material.issuing)
        self.tsa_pem = to_pem(material.tsa)
        self.platform_pem = to_pem(material.platform)
        self.tsa = TimestampAuthority(material.tsa_key, material.tsa, [material.issuing],
                                      DEFAULT_POLICY_OID, clock.now)

    @property
    def chain_pem(self) -> list[str]:
        return [self.issuing_pem, self.root_pem]

    @property
    def issuer_name(self) -> x509.Name:
        return self.material.issuing.subject

    def issue_user(self, public_key: ec.EllipticCurvePublicKey, subject: UserSubject,
                   serial: int, now: datetime) -> x509.Certificate:
        m = self.material
        return ca.issue_user_certificate(m.issuing_key, m.issuing, public_key, subject, serial,
                                         now=now, crl_url=self.urls.issuing)

    def issue_seal(self, public_key: ec.EllipticCurvePublicKey, subject: SealSubject,
                   serial: int, now: datetime) -> x509.Certificate:
        m = self.material
        return ca.issue_seal_certificate(m.issuing_key, m.issuing, public_key, subject, serial,
                                         now=now, crl_url=self.urls.issuing)

    def crl(self, issuer: str, revoked: list[ca.RevokedEntry], this_update: datetime,
            next_update: datetime, number: int) -> bytes:
        m = self.material
        key, cert = (m.root_key, m.root) if issuer == "root" else (m.issuing_key, m.issuing)
        return ca.build_crl(key, cert, revoked, this_update, next_update, number)
