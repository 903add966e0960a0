"""Automatic renewal of seal certificates (``SealCertificateRenewed``).

A periodic round (``renew_expiring_seals``, hourly with the expiry reminders, on the
service's clock, so tests move the clock and call it once) renews every active, current seal
certificate within ``Certs.seal_renewal`` (``ESEAL_SEAL_RENEWAL_DAYS``, 30 days) of expiry:

- a **new key pair** (held under the master key like the first) and a new certificate with
  the same subject from the issuing CA, and its SM2 twin; the new stream starts with its own
  ``SealCertificateCreated`` (same ``subject_digest``: a repeated issue request for the seal
  still answers idempotently, now with the current certificate);
- the old certificate gets the private ``SealCertificateSuperseded`` and is **not revoked**:
  it stays valid until it expires, stays findable by serial (by-serial, evidence reports),
  and is never used to sign again; the stamps made with it keep verifying (their LTV data is
  embedded, and their CRLs will never list it);
- the public ``SealCertificateRenewed`` (new certificate and chain, no key material): seals
  switches the seal to the new certificate, so new stamps embed it.

Every replica runs the round: each renewal holds the seal's advisory lock and the row lock,
and checks again under them that the certificate is still current, active and due, so two
rounds racing renew a seal once. A revoked certificate (a revoked seal) is never renewed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from certs.adapters import repository as repo
from certs.domain import certificate as rules
from certs.domain.certificate import create_seal_certificate
from certs.domain.events import SealCertificateCreated, SealCertificateSuperseded
from certs.domain.subjects import SealSubject
from shared.catalog import SealCertificateRenewed
from shared.logging import get_logger

from . import seals, sm2
from .context import Certs

log = get_logger(__name__)


async def renew_expiring_seals(certs: Certs) -> int:
    """One round; how many seal certificates were renewed. One failure does not stop the
    rest (the next round tries again)."""
    now = certs.clock.now()
    horizon = now + certs.seal_renewal
    async with certs.db.connection() as uow:
        rows = await repo.expiring_seal_certificates(uow.conn, horizon)
    renewed = 0
    for row in rows:
        try:
            renewed += await renew_seal(certs, row["seal_id"], horizon)
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.warning("seal_certificate_renewal_failed", seal_id=str(row["seal_id"]),
                        error=repr(exc)[:300])
    return renewed


def _subject(certificate_pem: str) -> SealSubject:
    """The seal certificate's subject as it was issued (the renewal keeps it)."""
    name = x509.load_pem_x509_certificate(certificate_pem.encode()).subject

    def first(oid: x509.ObjectIdentifier) -> str:
        attrs = name.get_attributes_for_oid(oid)
        return str(attrs[0].value) if attrs else ""

    return SealSubject(enterprise_name=first(NameOID.ORGANIZATION_NAME),
                       uscc=first(NameOID.ORGANIZATION_IDENTIFIER),
                       seal_name=first(NameOID.COMMON_NAME),
                       seal_type_label=first(NameOID.ORGANIZATIONAL_UNIT_NAME))


async def renew_seal(certs: Certs, seal_id: uuid.UUID, horizon: datetime) -> int:
    """Renew the seal's certificate if (under its locks) it is still current, active and due
    before ``horizon``: 1 if renewed, 0 if there was nothing to do."""
    now = certs.clock.now()
    async with certs.db.transaction() as uow:
        await repo.lock_seal(uow.conn, seal_id)
        row = await repo.seal_certificate(uow.conn, seal_id, for_update=True)
        if row is None or row["status"] != "active" or row["not_after"] > horizon:
            return 0  # renewed by another round, revoked, or not due
        old_id = row["certificate_id"]
        old = await certs.load(uow, old_id)
        if old.status != "active":
            return 0
        stream = [e.decode() for e in await uow.load(old_id)]
        created_old = next(e for e in stream if isinstance(e, SealCertificateCreated))

        certificate_id = uuid.uuid4()
        key_id, key = uuid.uuid4(), certs.keys.generate()
        facts = seals.new_seal_certificate(certs, certificate_id, key_id, key,
                                           _subject(row["certificate_pem"]), now)
        # the old one first: the read model keeps one current certificate per seal
        await certs.record(uow, old_id, old.version, [
            SealCertificateSuperseded(certificate_id=old_id, superseded_by=certificate_id,
                                      superseded_at=now)])
        events = create_seal_certificate(facts, seal_id, created_old.enterprise_id,
                                         created_old.seal_name, created_old.seal_type,
                                         created_old.subject_digest, now)
        created = rules.fold(events)
        assert created is not None
        events += await sm2.seal_events(certs, uow.conn, created, facts.pem, now)
        events.append(SealCertificateRenewed(
            certificate_id=certificate_id, seal_id=seal_id,
            enterprise_id=created_old.enterprise_id, serial_number=facts.serial_number,
            not_before=facts.not_before, not_after=facts.not_after,
            fingerprint_sha256=facts.fingerprint_sha256, certificate_pem=facts.pem,
            chain_pem=list(certs.authority.chain_pem), replaces_certificate_id=old_id,
            replaces_serial_number=row["serial_number"], renewed_at=now))
        await certs.record(uow, certificate_id, 0, events)
        await certs.keys.store_master_key(uow.conn, key_id, str(certificate_id), key)
    log.info("seal_certificate_renewed", seal_id=str(seal_id),
             serial_number=facts.serial_number, replaces_serial_number=row["serial_number"])
    return 1
