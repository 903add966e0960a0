"""The seal's current certificate (``seal_certificates``: what stamps embed) follows certs'
``SealCertificateRenewed``: from then on new stamps use the renewed certificate and chain.

Fed by the consumer (one transaction with the idempotency row per event). Renewals of one
seal are on different certificate streams, so they may arrive out of order: the certificate
that expires last wins, and applying an event again changes nothing.
"""

from __future__ import annotations

from shared.catalog import SealCertificateRenewed
from shared.consumer import Handler, handlers_for
from shared.db import Conn
from shared.events import DomainEvent, Envelope
from shared.logging import get_logger

log = get_logger(__name__)


async def renewed(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    assert isinstance(ev, SealCertificateRenewed)
    replaced = await conn.fetchval(
        "UPDATE seal_certificates SET certificate_id = $2, serial_number = $3,"
        " certificate_pem = $4, chain_pem = $5, not_after = $6"
        " WHERE seal_id = $1 AND serial_number <> $3 AND (not_after IS NULL OR not_after < $6)"
        " RETURNING seal_id", ev.seal_id, str(ev.certificate_id), ev.serial_number,
        ev.certificate_pem, list(ev.chain_pem), ev.not_after)
    if replaced is None:  # applied already, a later renewal in place, or not a seal of ours
        log.info("seal_certificate_renewal_ignored", seal_id=str(ev.seal_id),
                 serial_number=ev.serial_number)
        return
    log.info("seal_certificate_switched", seal_id=str(ev.seal_id), serial_number=ev.serial_number,
             replaces_serial_number=ev.replaces_serial_number)


def certificate_handlers() -> dict[str, Handler]:
    return handlers_for((SealCertificateRenewed, renewed))
