"""Revocation lists: re-issued (crl_number + 1) in the transaction that revokes, and
refreshed when half their validity has passed (on read), so a published CRL is never stale."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import asyncpg
from cryptography import x509

from certs.adapters import repository as repo
from certs.adapters.crypto.ca import RevokedEntry
from certs.adapters.crypto.describe import parse_serial
from shared.db import Conn
from shared.gm.x509 import RevokedEntry as Sm2RevokedEntry

from .context import Certs

Issuer = Literal["issuing", "root", "sm2_issuing"]


def crl_reason(reason: str) -> x509.ReasonFlags:
    """An RFC 5280 reason when the caller gave one by name ("key_compromise" or
    "keyCompromise"); otherwise cessationOfOperation (a seal withdrawn from use: its earlier
    signatures stay valid, which keyCompromise would deny)."""
    if reason in x509.ReasonFlags.__members__:
        return x509.ReasonFlags[reason]
    try:
        return x509.ReasonFlags(reason)
    except ValueError:
        return x509.ReasonFlags.cessation_of_operation


async def reissue(certs: Certs, conn: Conn, issuer: Issuer, now: datetime) -> int:
    """A new CRL of ``issuer`` with every revocation committed so far (plus this
    transaction's); returns its number. Concurrent re-issues queue on the row lock."""
    current = await repo.crl_number(conn, issuer, for_update=True)
    number = (current or 0) + 1
    entries: list[RevokedEntry] = []
    if issuer == "issuing":
        entries = [RevokedEntry(parse_serial(r["serial_number"]), r["revoked_at"],
                                crl_reason(r["revocation_reason"] or ""))
                   for r in await repo.revoked_certificates(conn)]
    next_update = now + certs.crl_validity
    if issuer == "sm2_issuing":
        der = certs.sm2.crl(await _sm2_revoked(conn), now, next_update, number)
    else:
        der = certs.authority.crl(issuer, entries, now, next_update, number)
    await repo.save_crl(conn, issuer, number, now, next_update, der)
    return number


async def _sm2_revoked(conn: Conn) -> list[Sm2RevokedEntry]:
    """SM2 twins of revoked certificates: revoking a certificate revokes its twin."""
    return [Sm2RevokedEntry(parse_serial(r["serial_number"]), r["revoked_at"],
                            _asn1_reason(crl_reason(r["revocation_reason"] or "")))
            for r in await repo.revoked_sm2_twins(conn)]


def _asn1_reason(reason: x509.ReasonFlags) -> str | None:
    """asn1crypto's name of an RFC 5280 reason; "unspecified" is left out (§5.3.1)."""
    if reason is x509.ReasonFlags.unspecified:
        return None
    return reason.name


def _fresh(row: asyncpg.Record | None, certs: Certs, now: datetime) -> bool:
    # a CRL dated in the future (a sandbox clock moved back) is re-issued as well
    return (row is not None and row["this_update"] <= now + timedelta(minutes=5)
            and now < row["this_update"] + certs.crl_validity / 2)


async def current(certs: Certs, issuer: Issuer) -> bytes:
    """The CRL to publish (DER), re-issued first if it is missing or half-way to expiry."""
    now = certs.clock.now()
    async with certs.db.connection() as uow:
        row = await repo.crl(uow.conn, issuer)
        if row is not None and _fresh(row, certs, now):
            return bytes(row["der"])
        async with uow.conn.transaction():
            row = await repo.crl(uow.conn, issuer, for_update=True)
            if not _fresh(row, certs, now):
                await reissue(certs, uow.conn, issuer, now)
            der = await repo.crl_der(uow.conn, issuer)
        return der
