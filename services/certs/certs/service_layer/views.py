"""Read side: what the API shows of certificates (from the read model)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from certs.adapters.crypto.signing import DEFAULT_ALGORITHM
from certs.adapters.db import Conn

_COLUMNS = ("certificate_id, owner_type, owner_id, enterprise_id, seal_id, key_id, serial_number,"
            " subject, issuer, not_before, not_after, fingerprint_sha256, certificate_pem,"
            " subject_digest, status, revoked_at, revocation_reason, password_failures,"
            " locked_until, version")
_ACTIVE_USER = "owner_id = $1 AND owner_type <> 'seal' AND status = 'active'"
_LOCKS = {"": "", "FOR UPDATE": " FOR UPDATE"}


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def effective_status(row: asyncpg.Record, now: datetime) -> str:
    """active | locked (wrong passwords, until ``locked_until``) | revoked."""
    if row["status"] == "revoked":
        return "revoked"
    if row["locked_until"] is not None and now < row["locked_until"]:
        return "locked"
    return "active"


def certificate_view(row: asyncpg.Record, now: datetime,
                     sm2: asyncpg.Record | None = None) -> dict[str, Any]:
    """docs/API.md: {serial_number, subject, issuer, not_before, not_after, algorithm,
    fingerprint_sha256, status, pem} plus the certificate id and, when locked, until when."""
    status = effective_status(row, now)
    view: dict[str, Any] = {
        "certificate_id": str(row["certificate_id"]),
        "serial_number": row["serial_number"],
        "subject": row["subject"],
        "issuer": row["issuer"],
        "not_before": rfc3339(row["not_before"]),
        "not_after": rfc3339(row["not_after"]),
        "algorithm": DEFAULT_ALGORITHM,
        "fingerprint_sha256": row["fingerprint_sha256"],
        "status": status,
        "pem": row["certificate_pem"],
    }
    if status == "locked":
        view["locked_until"] = rfc3339(row["locked_until"])
    if status == "revoked":
        view["revoked_at"] = rfc3339(row["revoked_at"])
    view["sm2"] = None if sm2 is None else {
        "serial_number": sm2["serial_number"], "subject": sm2["subject"], "issuer": sm2["issuer"],
        "not_before": rfc3339(sm2["not_before"]), "not_after": rfc3339(sm2["not_after"]),
        "algorithm": "sm2-sm3", "fingerprint_sha256": sm2["fingerprint_sha256"],
        "pem": sm2["certificate_pem"]}
    return view


async def sm2_twin(conn: Conn, certificate_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT certificate_id, key_id, serial_number, subject, issuer, not_before, not_after,"
        " fingerprint_sha256, certificate_pem FROM sm2_certificates WHERE certificate_id = $1",
        certificate_id)


async def active_user_certificate(conn: Conn, principal_id: uuid.UUID, *,
                                  for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    query = f"SELECT {_COLUMNS} FROM certificates WHERE {_ACTIVE_USER}{lock}"  # noqa: S608
    return await conn.fetchrow(query, principal_id)


async def seal_certificate(conn: Conn, seal_id: uuid.UUID, *,
                           lock: str = "") -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE seal_id = $1{_LOCKS[lock]}",  # noqa: S608
        seal_id)


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


async def by_id(conn: Conn, certificate_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM certificates WHERE certificate_id = $1",  # noqa: S608 - constants
        certificate_id)
