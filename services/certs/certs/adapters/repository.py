"""SQL of the certs service besides the event store, its projection and the key, CA and
sandbox-SMS adapters: the read model's rows, activation codes, CRLs and the advisory locks.

Every function takes the connection of the caller's transaction (``shared.db.Conn``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from certs.domain import ActivationCode
from shared.db import Conn

_COLUMNS = ("certificate_id, owner_type, owner_id, enterprise_id, seal_id, key_id, serial_number,"
            " subject, issuer, not_before, not_after, fingerprint_sha256, certificate_pem,"
            " subject_digest, status, revoked_at, revocation_reason, password_failures,"
            " locked_until, version")
_ACTIVE_USER = "owner_id = $1 AND owner_type <> 'seal' AND status = 'active'"


def _lock(for_update: bool) -> str:
    return " FOR UPDATE" if for_update else ""


# --- advisory locks (released at commit) ----------------------------------------------------


async def lock_principal(conn: Conn, principal_id: uuid.UUID) -> None:
    """Serialises one principal's code sends and activations."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"certs:principal:{principal_id}")


async def lock_seal(conn: Conn, seal_id: uuid.UUID) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"certs:seal:{seal_id}")


# --- certificates (the read model) ----------------------------------------------------------


async def by_id(conn: Conn, certificate_id: uuid.UUID, *,
                for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE certificate_id = $1{_lock(for_update)}",  # noqa: S608 - constants
        certificate_id)


async def active_user_certificate(conn: Conn, principal_id: uuid.UUID, *,
                                  for_update: bool = False) -> asyncpg.Record | None:
    query = f"SELECT {_COLUMNS} FROM certificates WHERE {_ACTIVE_USER}{_lock(for_update)}"  # noqa: S608
    return await conn.fetchrow(query, principal_id)


async def user_certificate_by_serial(conn: Conn, principal_id: uuid.UUID,
                                    serial_number: str) -> asyncpg.Record | None:
    """One of this user's certificates, active or not, by its serial number."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE owner_id = $1 AND owner_type <> 'seal'"  # noqa: S608
        " AND serial_number = $2", principal_id, serial_number)


async def latest_user_certificate(conn: Conn, principal_id: uuid.UUID) -> asyncpg.Record | None:
    """This user's newest certificate, whatever its status."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE owner_id = $1 AND owner_type <> 'seal'"  # noqa: S608
        " ORDER BY created_at DESC, version DESC LIMIT 1", principal_id)


async def expiring_user_certificates(conn: Conn, now: datetime, until: datetime,
                                     limit: int = 500) -> list[asyncpg.Record]:
    """Active user certificates expiring after ``now`` and by ``until`` (reminders)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT certificate_id, owner_id, not_after FROM certificates"
        " WHERE owner_type <> 'seal' AND status = 'active' AND not_after > $1"
        " AND not_after <= $2 ORDER BY not_after LIMIT $3", now, until, limit)
    return rows


async def active_agent_certificate(conn: Conn, agent_id: uuid.UUID, *,
                                   for_update: bool = False) -> asyncpg.Record | None:
    active_agent = "owner_id = $1 AND owner_type = 'agent' AND status = 'active'"
    query = f"SELECT certificate_id, serial_number FROM certificates WHERE {active_agent}{_lock(for_update)}"  # noqa: S608
    return await conn.fetchrow(query, agent_id)


async def seal_certificate(conn: Conn, seal_id: uuid.UUID, *,
                           for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE seal_id = $1 AND superseded_by IS NULL"  # noqa: S608
        f"{_lock(for_update)}", seal_id)


async def expiring_seal_certificates(conn: Conn, until: datetime,
                                     limit: int = 500) -> list[asyncpg.Record]:
    """Current, active seal certificates that expire before ``until`` (renewal candidates;
    an expired one too: a seal whose certificate lapsed while certs was down is renewed)."""
    return await conn.fetch(
        "SELECT seal_id, certificate_id FROM certificates WHERE owner_type = 'seal'"
        " AND status = 'active' AND superseded_by IS NULL AND not_after <= $1"
        " ORDER BY not_after LIMIT $2", until, limit)


async def seal_certificate_by_serial(conn: Conn, serial_number: str) -> asyncpg.Record | None:
    """A seal certificate by its serial (upper-case hex, as ``serial_hex`` writes it): the
    ECDSA one or its SM2 twin (an OFD's signer), whose status is the shared aggregate's."""
    return await conn.fetchrow(
        "SELECT seal_id, enterprise_id, serial_number, subject, issuer, fingerprint_sha256,"
        " status, revoked_at FROM certificates WHERE serial_number = $1 AND owner_type = 'seal'"
        " UNION ALL"
        " SELECT c.seal_id, c.enterprise_id, s.serial_number, s.subject, s.issuer,"
        " s.fingerprint_sha256, c.status, c.revoked_at FROM sm2_certificates s"
        " JOIN certificates c USING (certificate_id)"
        " WHERE s.serial_number = $1 AND c.owner_type = 'seal' LIMIT 1",
        serial_number)


async def certificate_by_serial(conn: Conn, serial_number: str) -> asyncpg.Record | None:
    """Any certificate the platform issued to a user or a seal, by serial (upper-case hex):
    the ECDSA one or an SM2 twin (the twin's window, the aggregate's status)."""
    return await conn.fetchrow(
        "SELECT owner_type, serial_number, subject, issuer, not_before, not_after, status,"
        " revoked_at, 'ecdsa-p256' AS key_algorithm FROM certificates WHERE serial_number = $1"
        " UNION ALL"
        " SELECT c.owner_type, s.serial_number, s.subject, s.issuer, s.not_before, s.not_after,"
        " c.status, c.revoked_at, 'sm2' FROM sm2_certificates s JOIN certificates c USING (certificate_id)"
        " WHERE s.serial_number = $1 LIMIT 1",
        serial_number)


async def status(conn: Conn, certificate_id: uuid.UUID) -> str | None:
    """The certificate's status now (``active`` | ``revoked``; ``superseded`` for a seal
    certificate renewed since: not revoked, but its seal signs with the successor)."""
    found: str | None = await conn.fetchval(
        "SELECT CASE WHEN superseded_by IS NOT NULL AND status = 'active' THEN 'superseded'"
        " ELSE status END FROM certificates WHERE certificate_id = $1", certificate_id)
    return found


async def sm2_twin(conn: Conn, certificate_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT certificate_id, key_id, serial_number, subject, issuer, not_before, not_after,"
        " fingerprint_sha256, certificate_pem FROM sm2_certificates WHERE certificate_id = $1",
        certificate_id)


async def active_sm2_signers(conn: Conn, principal_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    """The SM2 twins of these principals' active user certificates, by serial number."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT c.owner_id, s.certificate_pem, s.serial_number FROM certificates c"
        " JOIN sm2_certificates s USING (certificate_id)"
        " WHERE c.owner_id = ANY($1::uuid[]) AND c.owner_type <> 'seal' AND c.status = 'active'"
        " ORDER BY s.serial_number", principal_ids)
    return rows


async def revoked_certificates(conn: Conn) -> list[asyncpg.Record]:
    """(serial_number, revoked_at, revocation_reason) of every revoked certificate."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT serial_number, revoked_at, revocation_reason FROM certificates"
        " WHERE status = 'revoked' ORDER BY revoked_at, serial_number")
    return rows


async def revoked_sm2_twins(conn: Conn) -> list[asyncpg.Record]:
    """The same of the SM2 twins of revoked certificates (revoking one revokes its twin)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT s.serial_number, c.revoked_at, c.revocation_reason FROM sm2_certificates s"
        " JOIN certificates c USING (certificate_id) WHERE c.status = 'revoked'"
        " ORDER BY c.revoked_at, s.serial_number")
    return rows


# --- activation codes -----------------------------------------------------------------------


async def activation_code(conn: Conn, principal_id: uuid.UUID) -> ActivationCode | None:
    row = await conn.fetchrow(
        "SELECT code_hash, issued_at, expires_at, failures, consumed_at FROM activation_codes"
        " WHERE principal_id = $1", principal_id)
    if row is None:
        return None
    return ActivationCode(str(principal_id), bytes(row["code_hash"]), row["issued_at"],
                          row["expires_at"], row["failures"], row["consumed_at"])


async def save_activation_code(conn: Conn, principal_id: uuid.UUID, r: ActivationCode) -> None:
    await conn.execute(
        "INSERT INTO activation_codes (principal_id, code_hash, issued_at, expires_at, failures,"
        " consumed_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal_id) DO UPDATE SET"
        " code_hash = EXCLUDED.code_hash, issued_at = EXCLUDED.issued_at,"
        " expires_at = EXCLUDED.expires_at, failures = EXCLUDED.failures,"
        " consumed_at = EXCLUDED.consumed_at",
        principal_id, r.code_hash, r.issued_at, r.expires_at, r.failures, r.consumed_at)


async def set_code_message(conn: Conn, principal_id: uuid.UUID, serial_no: str | None) -> None:
    """The provider's id of the message carrying the principal's current code."""
    await conn.execute("UPDATE activation_codes SET sms_serial_no = $2 WHERE principal_id = $1",
                       principal_id, serial_no)


async def code_delivery(conn: Conn, principal_id: uuid.UUID) -> asyncpg.Record | None:
    """The principal's current code (times only) and its message's delivery report."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT a.issued_at, a.expires_at, a.consumed_at, a.sms_serial_no, d.status, d.report_code,"
        " d.reported_at FROM activation_codes a"
        " LEFT JOIN sms_deliveries d ON d.serial_no = a.sms_serial_no WHERE a.principal_id = $1",
        principal_id)
    return row


# --- CRLs -----------------------------------------------------------------------------------


async def crl_number(conn: Conn, issuer: str, *, for_update: bool = False) -> int | None:
    """The number of ``issuer``'s current CRL (None before its first)."""
    number: int | None = await conn.fetchval(
        f"SELECT crl_number FROM crls WHERE issuer = $1{_lock(for_update)}", issuer)  # noqa: S608
    return number


async def crl(conn: Conn, issuer: str, *, for_update: bool = False) -> asyncpg.Record | None:
    """``der`` and ``this_update`` of ``issuer``'s current CRL."""
    return await conn.fetchrow(
        f"SELECT der, this_update FROM crls WHERE issuer = $1{_lock(for_update)}", issuer)  # noqa: S608


async def crl_der(conn: Conn, issuer: str) -> bytes:
    return bytes(await conn.fetchval("SELECT der FROM crls WHERE issuer = $1", issuer))


async def save_crl(conn: Conn, issuer: str, number: int, this_update: datetime,
                   next_update: datetime, der: bytes) -> None:
    """Replace ``issuer``'s CRL unless a later one is already stored."""
    await conn.execute(
        "INSERT INTO crls (issuer, crl_number, this_update, next_update, der)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer) DO UPDATE SET"
        " crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update,"
        " next_update = EXCLUDED.next_update, der = EXCLUDED.der"
        " WHERE crls.crl_number < EXCLUDED.crl_number",
        issuer, number, this_update, next_update, der)
