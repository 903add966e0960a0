"""Seal certificates: one per seal, its key made here and held under the master key;
signatures with it; revocation (CRL re-issued in the same transaction)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric import ec

from certs.adapters import repository as repo
from certs.adapters.crypto.ca import new_serial
from certs.adapters.crypto.describe import (
    display_name,
    fingerprint_sha256,
    normal_serial,
    serial_hex,
    to_pem,
)
from certs.adapters.crypto.signing import DEFAULT_ALGORITHM, sign_digest
from certs.domain import certificate as rules
from certs.domain.certificate import IssuedCertificate, create_seal_certificate
from certs.domain.errors import (
    CertificateRevoked,
    SealCertificateConflict,
    SealCertificateNotFound,
)
from certs.domain.subjects import SealSubject
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

from . import crl, sm2, views
from .context import Certs, SealRef

log = get_logger(__name__)


@dataclass(frozen=True)
class IssueSealCertificate:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise_name: str
    enterprise_uscc: str
    seal_name: str
    seal_type: str
    seal_type_label: str

    @property
    def subject(self) -> SealSubject:
        return SealSubject(enterprise_name=self.enterprise_name, uscc=self.enterprise_uscc,
                           seal_name=self.seal_name, seal_type_label=self.seal_type_label)

    @property
    def digest(self) -> str:
        """Identifies the request's data: a repeat with the same data is a replay."""
        data = {k: str(v) for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _issued(certs: Certs, row: asyncpg.Record) -> dict[str, Any]:
    return {"certificate_id": str(row["certificate_id"]), "serial_number": row["serial_number"],
            "certificate_pem": row["certificate_pem"], "chain_pem": certs.authority.chain_pem,
            "status": row["status"]}


async def issue(certs: Certs, cmd: IssueSealCertificate) -> tuple[dict[str, Any], bool]:
    """``(certificate, created)``; idempotent per seal (the same data answers the same)."""
    subject = cmd.subject  # ValueError for empty / over-long names
    async with certs.db.transaction() as uow:
        await repo.lock_seal(uow.conn, cmd.seal_id)
        existing = await repo.seal_certificate(uow.conn, cmd.seal_id)
        if existing is not None:
            if existing["subject_digest"] != cmd.digest:
                raise SealCertificateConflict()
            return _issued(certs, existing), False
        certificate_id, now = uuid.uuid4(), certs.clock.now()
        key_id, key = uuid.uuid4(), certs.keys.generate()
        facts = new_seal_certificate(certs, certificate_id, key_id, key, subject, now)
        events = create_seal_certificate(facts, cmd.seal_id, cmd.enterprise_id, cmd.seal_name,
                                         cmd.seal_type, cmd.digest, now)
        created = rules.fold(events)
        assert created is not None
        events += await sm2.seal_events(certs, uow.conn, created, facts.pem, now)  # its SM2 twin
        await certs.record(uow, certificate_id, 0, events)
        await certs.keys.store_master_key(uow.conn, key_id, str(certificate_id), key)
        row = await repo.by_id(uow.conn, certificate_id)
    assert row is not None
    log.info("seal_certificate_issued", seal_id=str(cmd.seal_id),
             serial_number=facts.serial_number)
    return _issued(certs, row), True


def new_seal_certificate(certs: Certs, certificate_id: uuid.UUID, key_id: uuid.UUID,
                         key: ec.EllipticCurvePrivateKey, subject: SealSubject,
                         now: datetime) -> IssuedCertificate:
    """A seal certificate for ``key`` from the issuing CA (issued or renewed)."""
    cert = certs.authority.issue_seal(key.public_key(), subject, new_serial(), now)
    return IssuedCertificate(
        certificate_id=certificate_id, key_id=key_id,
        serial_number=serial_hex(cert.serial_number), subject=display_name(cert.subject),
        issuer=display_name(cert.issuer), not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc, fingerprint_sha256=fingerprint_sha256(cert),
        pem=to_pem(cert),
    )


async def by_serial(certs: Certs, serial_number: str) -> dict[str, Any]:
    """Which seal and enterprise a seal certificate belongs to: what a verifier shows is this,
    never what a signed document says about itself. 404 for any serial that is not a seal's."""
    serial = normal_serial(serial_number)
    row = None
    if serial:
        async with certs.db.connection() as uow:
            row = await repo.seal_certificate_by_serial(uow.conn, serial)
    if row is None:
        raise SealCertificateNotFound()
    return {"seal_id": str(row["seal_id"]), "enterprise_id": str(row["enterprise_id"]),
            "serial_number": row["serial_number"], "subject": row["subject"], "issuer": row["issuer"],
            "fingerprint_sha256": row["fingerprint_sha256"], "status": row["status"],
            "revoked_at": views.rfc3339(row["revoked_at"])}


@dataclass(frozen=True)
class SealSignature:
    signature: bytes
    serial_number: str
    algorithm: str = DEFAULT_ALGORITHM


async def sign(certs: Certs, seal_id: uuid.UUID, digest: bytes) -> SealSignature:
    """Sign, then confirm the certificate is still active before answering.

    The confirming read is the moment the signature takes effect: a revocation committed
    before it makes this call answer 409 (the signature is discarded); one committed after
    it came after a signature that was already complete. So once a revocation has been
    answered, no signature made after it is ever returned; in one round trip (plus one
    on the seal's first use: which certificate and key it has changes only when it is
    renewed, and then the confirming read answers ``superseded`` and it signs again with
    the current one).
    """
    serial = ""
    for _ in range(2):  # again once if the seal's certificate was renewed since it was cached
        async with certs.db.connection() as uow:
            ref = certs.seal_refs.get(seal_id)
            if ref is None:
                row = await repo.seal_certificate(uow.conn, seal_id)
                if row is None:
                    raise SealCertificateNotFound()
                if row["status"] == "revoked":
                    raise CertificateRevoked(row["serial_number"])
                ref = SealRef(row["certificate_id"], row["key_id"], row["serial_number"])
                certs.seal_refs.put(seal_id, ref)
            serial = ref.serial_number
            key = await certs.keys.open_master_key(uow.conn, ref.key_id, str(ref.certificate_id))
            signature = sign_digest(key, digest)
            status = await repo.status(uow.conn, ref.certificate_id)
        if status == "superseded":  # renewed (renewal.py): sign with the current one
            certs.seal_refs.forget(seal_id)
            continue
        if status != "active":
            raise CertificateRevoked(ref.serial_number)
        return SealSignature(signature, ref.serial_number)
    raise CertificateRevoked(serial)


async def revoke(certs: Certs, seal_id: uuid.UUID, reason: str) -> dict[str, Any]:
    async with certs.db.transaction() as uow:
        row = await repo.seal_certificate(uow.conn, seal_id, for_update=True)
        if row is None:
            raise SealCertificateNotFound()
        revoked_at = await revoke_certificate(certs, uow, row["certificate_id"], reason,
                                              certs.clock.now())
    log.info("seal_certificate_revoked", seal_id=str(seal_id), serial_number=row["serial_number"])
    return {"serial_number": row["serial_number"], "revoked_at": views.rfc3339(revoked_at)}


async def revoke_certificate(certs: Certs, uow: UnitOfWork, certificate_id: uuid.UUID,
                             reason: str, now: datetime) -> datetime:
    """Revoke (the caller holds the row lock) and re-issue the CRL in the same transaction.
    Revoking again changes nothing and answers the first revocation time."""
    cert = await certs.load(uow, certificate_id)
    events = rules.revoke(cert, reason, now)
    if not events:
        assert cert.revoked_at is not None
        return cert.revoked_at
    await certs.record(uow, certificate_id, cert.version, events)
    await crl.reissue(certs, uow.conn, "issuing", now)
    if cert.has_sm2:  # its SM2 twin is revoked with it
        await crl.reissue(certs, uow.conn, "sm2_issuing", now)
    return now
