"""SM2 twins of certificates: made, used to sign, and the GB/T 38540 seals they go into.

Every seal certificate and every user certificate gets an SM2 twin on the same aggregate
(``Sm2CertificateAdded`` + public ``Sm2CertificateIssued`` on its stream), so the twin shares
the certificate password, the wrong-password counter and lockout, and revocation: revoking the
certificate revokes both, and both CRLs are re-issued in the revoking transaction.

Certificates older than the SM2 hierarchy get their twin lazily: a seal's when it is first
needed (SM2 signature, ``SES_Seal``; the key is master-wrapped, nobody has to be present), a
user's at the next successful use of the certificate password (the SM2 key is wrapped under
that password, which the platform never stores, so it cannot be done earlier).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from cryptography import x509
from cryptography.x509.oid import NameOID

from certs.adapters import repository as repo
from certs.adapters.keys import sm2_owner
from certs.adapters.sm2 import SealInfo, Sm2Issued, display, fingerprint_sha256, pem
from certs.domain import certificate as rules
from certs.domain.certificate import Certificate, IssuedCertificate
from certs.domain.errors import (
    CertificateNotActivated,
    CertificateRevoked,
    SealCertificateNotFound,
    Sm2CertificatePending,
)
from shared.db import Conn
from shared.events import DomainEvent
from shared.gm.sm2 import Sm2PrivateKey
from shared.gm.x509 import load_certificate
from shared.logging import get_logger

from .context import Certs, Sm2SealRef

log = get_logger(__name__)

ALGORITHM = "sm2-sm3"
# extDatas of the platform's seals: an OID under 2.25 (ITU-T X.667: a UUID as OID, no
# registration needed). Value: UTF-8 JSON {seal_id, enterprise_id, certificate_serial}.
SEAL_EXT_OID = "2.25." + str(uuid.UUID("6f1d3c52-9a4e-4c1b-8e0f-5a7b2d9c4e31").int)


def facts(issued: Sm2Issued, key_id: uuid.UUID) -> IssuedCertificate:
    cert = issued.certificate
    return IssuedCertificate(
        certificate_id=key_id, key_id=key_id, serial_number=issued.serial_number,
        subject=display(cert.subject), issuer=display(cert.issuer),
        not_before=issued.not_before, not_after=issued.not_after,
        fingerprint_sha256=fingerprint_sha256(cert), pem=pem(cert))


def _names(certificate_pem: str) -> tuple[str, str]:
    """(CN, O) of the ECDSA twin: the SM2 twin names the same subject."""
    name = x509.load_pem_x509_certificate(certificate_pem.encode()).subject

    def first(oid: x509.ObjectIdentifier) -> str:
        attrs = name.get_attributes_for_oid(oid)
        return str(attrs[0].value) if attrs else ""

    return first(NameOID.COMMON_NAME), first(NameOID.ORGANIZATION_NAME)


# --- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    key: Sm2PrivateKey
    facts: IssuedCertificate
    events: list[DomainEvent]


async def enrol_user(certs: Certs, conn: Conn, cert: Certificate, row: asyncpg.Record,
                     password: str) -> Enrolled:
    """Make the user's SM2 key (wrapped under ``password``, already verified by the caller)
    and certificate; store the key. Returns the key, its facts and the events to record."""
    owner = sm2_owner(str(cert.certificate_id))
    key = await certs.keys.new_user_sm2_key(owner, password)
    common_name, _ = _names(row["certificate_pem"])
    issued = certs.sm2.issue_person(key.private_key.public_key, common_name, cert.owner_id)
    await certs.keys.store_user_sm2_key(conn, owner, key)
    log.info("sm2_certificate_added", certificate_id=str(cert.certificate_id),
             serial_number=issued.serial_number)
    added = facts(issued, key.key_id)
    return Enrolled(key.private_key, added, rules.add_sm2(cert, added, certs.clock.now()))


# --- seals ----------------------------------------------------------------------------------


async def seal_events(certs: Certs, conn: Conn, cert: Certificate, certificate_pem: str,
                      now: datetime) -> list[DomainEvent]:
    """Make and store a seal's SM2 key and certificate; the events to record."""
    key_id, key = uuid.uuid4(), Sm2PrivateKey.generate()
    seal_name, enterprise_name = _names(certificate_pem)
    issued = certs.sm2.issue_seal(key.public_key, seal_name, enterprise_name, cert.owner_id)
    await certs.keys.store_master_sm2_key(conn, key_id, sm2_owner(str(cert.certificate_id)), key)
    return rules.add_sm2(cert, facts(issued, key_id), now)


async def ensure_seal(certs: Certs, seal_id: uuid.UUID) -> tuple[asyncpg.Record, asyncpg.Record]:
    """The seal's certificate row and its SM2 twin, made now for a seal older than SM2.
    404 for an unknown seal, 409 ``certificate_revoked`` for a revoked one."""
    async with certs.db.connection() as uow:
        row = await repo.seal_certificate(uow.conn, seal_id)
        if row is None:
            raise SealCertificateNotFound()
        if row["status"] == "revoked":
            raise CertificateRevoked(row["serial_number"])
        twin = await repo.sm2_twin(uow.conn, row["certificate_id"])
        if twin is not None:
            return row, twin
        async with uow.conn.transaction():
            await repo.lock_seal(uow.conn, seal_id)
            row = await repo.seal_certificate(uow.conn, seal_id, for_update=True)
            assert row is not None
            cert = await certs.load(uow, row["certificate_id"])
            rules.ensure_not_revoked(cert)
            if not cert.has_sm2:
                events = await seal_events(certs, uow.conn, cert, row["certificate_pem"],
                                           certs.clock.now())
                await certs.record(uow, cert.certificate_id, cert.version, events)
                log.info("seal_sm2_certificate_added", seal_id=str(seal_id))
            twin = await repo.sm2_twin(uow.conn, row["certificate_id"])
    assert twin is not None
    return row, twin


@dataclass(frozen=True)
class Sm2Signature:
    signature: bytes  # DER SEQUENCE {r, s}
    serial_number: str
    certificate_pem: str
    algorithm: str = ALGORITHM


async def sign_seal(certs: Certs, seal_id: uuid.UUID, digest: bytes) -> Sm2Signature:
    """Sign ``digest`` (e = SM3(Z‖M)) with the seal's SM2 key; like the ECDSA one, the
    status is re-read after signing and a revoked certificate's signature is discarded.
    Which twin and key a seal has is kept (``sm2_seal_refs``, as ``seals.sign`` keeps the
    ECDSA one): one round trip for the key and the confirming read."""
    kept = certs.sm2_seal_refs.get(seal_id)
    if kept is not None:
        signature, status = await _sign_and_confirm(certs, kept, digest)
        if status != "superseded":
            return _answer(kept, signature, status)
        certs.sm2_seal_refs.forget(seal_id)  # renewed since it was kept: the current twin signs
    ref = await _sm2_seal_ref(certs, seal_id)
    certs.sm2_seal_refs.put(seal_id, ref)
    # renewed during this call (``superseded``): still valid, and the answer names this twin
    return _answer(ref, *await _sign_and_confirm(certs, ref, digest))


async def _sign_and_confirm(certs: Certs, ref: Sm2SealRef, digest: bytes) -> tuple[bytes, str | None]:
    async with certs.db.connection() as uow:
        key = await certs.keys.open_master_sm2_key(uow.conn, ref.key_id, sm2_owner(str(ref.certificate_id)))
        signature = key.sign_digest(digest)
        return signature, await repo.status(uow.conn, ref.certificate_id)


def _answer(ref: Sm2SealRef, signature: bytes, status: str | None) -> Sm2Signature:
    if status not in ("active", "superseded"):
        raise CertificateRevoked(ref.serial_number)
    return Sm2Signature(signature, ref.twin_serial_number, ref.twin_certificate_pem)


async def _sm2_seal_ref(certs: Certs, seal_id: uuid.UUID) -> Sm2SealRef:
    row, twin = await ensure_seal(certs, seal_id)
    return Sm2SealRef(row["certificate_id"], row["serial_number"], twin["key_id"],
                      twin["serial_number"], twin["certificate_pem"])


@dataclass(frozen=True)
class SealRequest:
    """What seals says about one of its seals; certs adds the certificates and signs."""

    name: str
    seal_type: int
    picture_png: bytes
    width_mm: int
    height_mm: int
    created_at: datetime
    signer_principal_ids: list[uuid.UUID]


async def make_seal(certs: Certs, seal_id: uuid.UUID, req: SealRequest) -> dict[str, Any]:
    """The seal's ``SES_Seal`` V4, signed by the seal-making certificate.

    certList (type 1, certificates) = the seal's SM2 certificate, then the active SM2
    certificates of ``signer_principal_ids`` (those seals says may use it now); a principal
    without one yet (no activated certificate, or not used since SM2 came) is reported in
    ``unlisted_principal_ids``. Valid from the seal's creation until its SM2 certificate ends.
    """
    row, twin = await ensure_seal(certs, seal_id)
    async with certs.db.connection() as uow:
        signers = await repo.active_sm2_signers(uow.conn, list(dict.fromkeys(req.signer_principal_ids)))
    listed = [twin] + list(signers)
    ext = json.dumps({"seal_id": str(seal_id), "enterprise_id": str(row["enterprise_id"]),
                      "certificate_serial": row["serial_number"]}, separators=(",", ":"))
    info = SealInfo(
        es_id=seal_id.hex.upper(), name=req.name, seal_type=req.seal_type,
        picture_png=req.picture_png, width_mm=req.width_mm, height_mm=req.height_mm,
        created_at=req.created_at, valid_from=req.created_at, valid_to=twin["not_after"],
        ext_datas=((SEAL_EXT_OID, ext.encode()),))
    der = certs.sm2.make_seal(info, [_der(r["certificate_pem"]) for r in listed])
    found = {r["owner_id"] for r in signers}
    return {"seal": der, "signer_serial_numbers": [r["serial_number"] for r in listed],
            "unlisted_principal_ids": [str(p) for p in dict.fromkeys(req.signer_principal_ids)
                                       if p not in found]}


# extDatas of a person's own seal: {principal_id, certificate_serial} (UTF-8 JSON)
PERSONAL_EXT_OID = "2.25." + str(uuid.UUID("0c9b7e2a-41d3-4f6e-9a58-3e7d1b2c6f04").int)


@dataclass(frozen=True)
class PersonalSealRequest:
    """A person's 个人签名 as stamping draws it: the picture and its size on the page."""

    picture_png: bytes
    width_mm: int
    height_mm: int


async def make_personal_seal(certs: Certs, principal_id: uuid.UUID,
                             req: PersonalSealRequest) -> dict[str, Any]:
    """The person's own ``SES_Seal`` V4 (property.type 2, 个人印章), signed by the
    seal-making certificate: what GB/T 38540 needs to carry a person's handwritten
    signature in an OFD (a signature names the seal it uses). Its name is the person's name
    on the certificate, its certList the person's SM2 certificate only (the person alone may
    use it), valid as long as that certificate. Made for each use, from the current
    certificate and picture: nothing to keep in step when either changes."""
    async with certs.db.connection() as uow:
        row = await repo.active_user_certificate(uow.conn, principal_id)
        if row is None:
            raise CertificateNotActivated()
        twin = await repo.sm2_twin(uow.conn, row["certificate_id"])
    if twin is None:
        raise Sm2CertificatePending()
    name, _ = _names(twin["certificate_pem"])
    ext = json.dumps({"principal_id": str(principal_id), "certificate_serial": twin["serial_number"]},
                     separators=(",", ":"))
    now = certs.clock.now()
    info = SealInfo(
        es_id="P" + principal_id.hex.upper(), name=name or "个人签名", seal_type=2,
        picture_png=req.picture_png, width_mm=req.width_mm, height_mm=req.height_mm,
        created_at=now, valid_from=twin["not_before"], valid_to=twin["not_after"],
        ext_datas=((PERSONAL_EXT_OID, ext.encode()),))
    return {"seal": certs.sm2.make_seal(info, [_der(twin["certificate_pem"])]),
            "serial_number": twin["serial_number"]}


def _der(certificate_pem: str) -> bytes:
    return bytes(load_certificate(certificate_pem.encode()).dump())
