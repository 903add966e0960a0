"""The SM2 hierarchy as the service holds it, beside the ECDSA one (authority.py).

SM2 root → SM2 issuing CA → seal and person SM2 certificates, plus the platform's
seal-making (制章) certificate whose key signs every GB/T 38540 ``SES_Seal``. Created once
like the ECDSA CA: on first start (also on the first start after an upgrade) one process makes
them and stores them in ``sm2_authorities`` with their keys wrapped by the master key; replicas
wait on an advisory lock and load what it stored. The certificates are built by
``shared.gm.x509`` (SM2-with-SM3, GM/T 0015 profile; arithmetic in gmalglib).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1x509

from shared.db import Conn
from shared.gm import ses
from shared.gm import x509 as gmx509
from shared.gm.sm2 import Sm2PrivateKey, Sm2PublicKey
from shared.logging import get_logger

from .crypto.ca import PLATFORM_ORGANIZATION, SEAL_VALIDITY, USER_VALIDITY
from .crypto.keywrap import MasterKey, make_aad, unwrap_with_master, wrap_with_master

log = get_logger(__name__)

ALGORITHM = "sm2-sm3"  # the name key custody and the internal API use
_SM2_CA_LOCK = 0x63_6572_7473_534D  # "certsSM": serialises SM2 CA creation across replicas
ROLES = ("root", "issuing", "seal_maker")
# as the ECDSA twins (crypto/ca.py); the SM2 root and issuing CA as the ECDSA ones too
PERSON_VALIDITY_DAYS = USER_VALIDITY.days
SEAL_VALIDITY_DAYS = SEAL_VALIDITY.days


def serial_hex(cert: asn1x509.Certificate) -> str:
    return format(int(cert.serial_number), "X")


def fingerprint_sha256(cert: asn1x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


def pem(cert: asn1x509.Certificate) -> str:
    return gmx509.to_pem(cert).decode()


def display(name: asn1x509.Name) -> str:
    """RFC 4514-style, most specific first (as the ECDSA side shows names)."""
    parts = []
    for rdn in reversed(list(name.chosen)):
        for attr in rdn:
            parts.append(f"{_SHORT.get(attr['type'].native, attr['type'].native)}={attr['value'].native}")
    return ",".join(parts)


_SHORT = {"common_name": "CN", "organization_name": "O", "organizational_unit_name": "OU",
          "country_name": "C", "serial_number": "serialNumber"}


@dataclass(frozen=True)
class Sm2Issued:
    """Facts of an SM2 certificate just issued."""

    certificate: asn1x509.Certificate

    @property
    def serial_number(self) -> str:
        return serial_hex(self.certificate)

    @property
    def not_before(self) -> datetime:
        moment: datetime = self.certificate["tbs_certificate"]["validity"]["not_before"].native
        return moment

    @property
    def not_after(self) -> datetime:
        moment: datetime = self.certificate["tbs_certificate"]["validity"]["not_after"].native
        return moment


@dataclass(frozen=True)
class Sm2Material:
    root_key: Sm2PrivateKey
    root: asn1x509.Certificate
    issuing_key: Sm2PrivateKey
    issuing: asn1x509.Certificate
    maker_key: Sm2PrivateKey
    maker: asn1x509.Certificate


def create_material(organization: str = PLATFORM_ORGANIZATION) -> Sm2Material:
    root_key, issuing_key, maker_key = (Sm2PrivateKey.generate() for _ in range(3))
    root = gmx509.create_root(root_key, {"country_name": "CN", "organization_name": organization,
                                         "common_name": "eseal SM2 Root CA"})
    issuing = gmx509.create_issuing_ca(
        issuing_key.public_key, {"country_name": "CN", "organization_name": organization,
                                 "common_name": "eseal SM2 Issuing CA 1"}, root, root_key)
    maker = gmx509.issue_seal_maker_certificate(maker_key.public_key, organization=organization,
                                                ca=issuing, ca_key=issuing_key)
    return Sm2Material(root_key, root, issuing_key, issuing, maker_key, maker)


def _aad(role: str) -> bytes:
    return make_aad("sm2-ca-key", role)


async def load_or_create(conn: Conn, master: MasterKey) -> tuple[Sm2Material, bool]:
    """The stored SM2 hierarchy, or a new one stored now. Returns ``(material, created)``."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SM2_CA_LOCK)
        rows = {r["role"]: r for r in await conn.fetch(
            "SELECT role, certificate_der, wrapped_key FROM sm2_authorities")}
        if not rows:
            m = create_material()
            await conn.executemany(
                "INSERT INTO sm2_authorities (role, certificate_der, wrapped_key) VALUES ($1, $2, $3)",
                [(role, cert.dump(), wrap_with_master(master, key.to_pkcs8_der(), _aad(role)))
                 for role, key, cert in (("root", m.root_key, m.root),
                                         ("issuing", m.issuing_key, m.issuing),
                                         ("seal_maker", m.maker_key, m.maker))])
            log.info("sm2_ca_created", root_serial=serial_hex(m.root),
                     issuing_serial=serial_hex(m.issuing), seal_maker_serial=serial_hex(m.maker))
            return m, True
    missing = set(ROLES) - set(rows)
    if missing:
        raise RuntimeError(f"SM2 CA material incomplete in the database: missing {sorted(missing)}")

    def part(role: str) -> tuple[Sm2PrivateKey, asn1x509.Certificate]:
        der = unwrap_with_master(master, bytes(rows[role]["wrapped_key"]), _aad(role))
        cert = gmx509.load_certificate(bytes(rows[role]["certificate_der"]))
        return Sm2PrivateKey.from_pkcs8_der(der), cert

    (rk, rc), (ik, ic), (mk, mc) = part("root"), part("issuing"), part("seal_maker")
    return Sm2Material(rk, rc, ik, ic, mk, mc), False


@dataclass(frozen=True)
class SealInfo:
    """What a GB/T 38540 seal says, as seals (its owner) describes it."""

    es_id: str
    name: str
    seal_type: int  # GB/T 38540 property.type: 1 organisation seal, 2 personal seal
    picture_png: bytes
    width_mm: int
    height_mm: int
    created_at: datetime
    valid_from: datetime
    valid_to: datetime
    ext_datas: tuple[tuple[str, bytes], ...] = ()


class Sm2Authority:
    """Issues SM2 certificates and CRLs; signs seals with the seal-making key."""

    def __init__(self, material: Sm2Material) -> None:
        self.material = material
        self.root_pem = pem(material.root)
        self.issuing_pem = pem(material.issuing)
        self.maker_pem = pem(material.maker)

    @property
    def chain_pem(self) -> list[str]:
        return [self.issuing_pem, self.root_pem]

    def issue_person(self, public_key: Sm2PublicKey, name: str, principal_id: uuid.UUID) -> Sm2Issued:
        m = self.material
        return Sm2Issued(gmx509.issue_person_certificate(
            public_key, name=name, person_id=str(principal_id), ca=m.issuing, ca_key=m.issuing_key,
            valid_days=PERSON_VALIDITY_DAYS))

    def issue_seal(self, public_key: Sm2PublicKey, seal_name: str, enterprise_name: str,
                   seal_id: uuid.UUID) -> Sm2Issued:
        m = self.material
        return Sm2Issued(gmx509.issue_seal_certificate(
            public_key, seal_name=seal_name, enterprise_name=enterprise_name, seal_id=str(seal_id),
            ca=m.issuing, ca_key=m.issuing_key, valid_days=SEAL_VALIDITY_DAYS))

    def crl(self, revoked: list[gmx509.RevokedEntry], this_update: datetime,
            next_update: datetime, number: int) -> bytes:
        m = self.material
        return bytes(gmx509.build_crl(m.issuing, m.issuing_key, revoked, crl_number=number,
                                      this_update=this_update, next_update=next_update).dump())

    def make_seal(self, info: SealInfo, signer_certificates: list[bytes]) -> bytes:
        """The ``SES_Seal`` V4 DER, signed by the seal-making key (certListType 1)."""
        m = self.material
        return ses.make_seal(
            es_id=info.es_id, name=info.name, seal_type=info.seal_type,
            signer_certificates=signer_certificates, valid_from=info.valid_from,
            valid_to=info.valid_to,
            picture=ses.SealPicture("PNG", info.picture_png, info.width_mm, info.height_mm),
            maker_key=m.maker_key, maker_certificate=m.maker.dump(), vendor_id="ESEAL",
            created_at=info.created_at, ext_datas=info.ext_datas)
