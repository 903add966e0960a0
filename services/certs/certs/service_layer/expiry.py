"""Renewal reminders: an SMS to the bound phone 30 and 7 days before a user's certificate
expires (``CertificateExpiryReminded`` on its stream, so each is sent once, whichever
replica runs the round). A periodic job (``run_reminders``, hourly) on the service's clock,
so tests move the clock and call ``remind_expiring`` once.

Seal certificates get no reminder: they are custodial (no password, nobody to ask); the
same hourly round renews them automatically (``renewal.renew_expiring_seals``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from certs.adapters import repository as repo
from certs.adapters.crypto.describe import mask
from certs.domain import certificate as rules
from certs.domain.events import CertificateExpiryReminded
from shared.china_time import china_today
from shared.logging import get_logger

from . import renewal
from .context import Certs

log = get_logger(__name__)

SMS_TEXT = ("【吉事办】您的数字证书将于{date}到期（{days}天内），请登录吉事办在“数字证书”中"
            "及时更新，以免影响印章使用。")
INTERVAL_SECONDS = 3600.0


async def remind_expiring(certs: Certs) -> int:
    """One round: every active user certificate within 30 days of expiry gets the reminder
    due (if not sent yet). Returns how many were sent; one failure does not stop the rest."""
    now = certs.clock.now()
    horizon = now + timedelta(days=max(rules.EXPIRY_REMINDERS))
    async with certs.db.connection() as uow:
        rows = await repo.expiring_user_certificates(uow.conn, now, horizon)
    sent = 0
    for row in rows:
        try:
            sent += await _remind(certs, row["certificate_id"], row["owner_id"], now)
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.warning("expiry_reminder_failed", certificate_id=str(row["certificate_id"]),
                        error=repr(exc)[:300])
    return sent


async def _remind(certs: Certs, certificate_id: uuid.UUID, owner_id: uuid.UUID,
                  now: datetime) -> int:
    principal = await certs.directory.get(owner_id)
    async with certs.db.transaction() as uow:
        row = await repo.by_id(uow.conn, certificate_id, for_update=True)
        if row is None:
            return 0
        cert = await certs.load(uow, certificate_id)
        events = rules.remind_expiry(cert, row["not_after"], now)
        if not events or not principal.phone:
            return 0
        await certs.record(uow, certificate_id, cert.version, events)
        reminded = events[0]
        assert isinstance(reminded, CertificateExpiryReminded)
        days = reminded.days_before
        text = SMS_TEXT.format(date=china_today(row["not_after"]).isoformat(), days=days)
        # inside the transaction: a failed send records nothing (tried again next round)
        await certs.sms.send(principal.phone, text, now)
    log.info("certificate_expiry_reminded", certificate_id=str(certificate_id), days_before=days,
             phone_masked=mask(principal.phone))
    return 1


async def run_reminders(certs: Certs, interval: float = INTERVAL_SECONDS) -> None:
    while True:
        try:
            await remind_expiring(certs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database may be back at the next round
            log.warning("expiry_reminders_failed", error=repr(exc)[:300])
        try:
            await renewal.renew_expiring_seals(certs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - likewise
            log.warning("seal_renewals_failed", error=repr(exc)[:300])
        await asyncio.sleep(interval)
