"""SQL over the seals database: state rows, blobs, the directory, pending work.

Every function takes the connection (and so the transaction) of its caller. ``lock`` picks
the row lock a read takes: ``share`` (stamping: the row may not change until we commit) or
``update`` (revocation, grant changes: wait for every stamping transaction holding a share
lock, and keep new ones out until we commit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

import asyncpg

from shared import cursors
from shared.db import Conn

from ..domain.access import AgentRecord
from ..domain.grant import Grant, Window
from ..domain.seal import Seal
from ..service_layer.ports import EnterpriseInfo, SealCertificate

Lock = Literal["share", "update"] | None
_LOCKS = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealRow:
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    type: str
    name: str
    status: Literal["active", "revoked"]
    image_sha256: str
    certificate_serial: str
    issued_by: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    revoke_reason: str
    version: int

    def aggregate(self) -> Seal:
        return Seal(self.seal_id, self.enterprise_id, self.type, self.name, self.status,
                    self.version, self.revoked_at)


@dataclass(frozen=True)
class GrantRow:
    grant_id: uuid.UUID
    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    id_number_masked: str
    valid_from: date
    valid_to: date
    deleted: bool
    granted_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def window(self) -> Window:
        return Window(self.valid_from, self.valid_to)

    def aggregate(self) -> Grant:
        return Grant(self.grant_id, self.seal_id, self.enterprise_id, self.person_id,
                     self.window, self.deleted, self.version)


@dataclass(frozen=True)
class SignatureRow:
    signature_id: uuid.UUID
    person_id: uuid.UUID
    method: Literal["handwritten", "generated"]
    image_sha256: str
    created_at: datetime
    version: int


@dataclass(frozen=True)
class GrantedSeal:
    """A seal as a grantee sees it: the seal, its enterprise, and the person's grant."""

    seal: SealRow
    enterprise_name: str
    enterprise_uscc: str
    grant: GrantRow


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


_SEAL_COLUMNS = ("seal_id, enterprise_id, type, name, status, image_sha256, certificate_serial,"
                 " issued_by, created_at, revoked_at, revoked_by, revoke_reason, version")
_GRANT_COLUMNS = ("grant_id, seal_id, enterprise_id, person_id, person_name, id_number_masked,"
                  " valid_from, valid_to, deleted, granted_by, created_at, updated_at, version")


def _seal(r: asyncpg.Record) -> SealRow:
    return SealRow(**{k: r[k] for k in SealRow.__dataclass_fields__})


def _grant(r: asyncpg.Record) -> GrantRow:
    return GrantRow(**{k: r[k] for k in GrantRow.__dataclass_fields__})


def _prefixed(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


# --- seals --------------------------------------------------------------------------------


async def get_seal(conn: Conn, seal_id: uuid.UUID, lock: Lock = None) -> SealRow | None:
    r = await conn.fetchrow(f"SELECT {_SEAL_COLUMNS} FROM seals WHERE seal_id = $1{_LOCKS[lock]}",  # noqa: S608
                            seal_id)
    return _seal(r) if r else None


async def active_seal_of_type(conn: Conn, enterprise_id: uuid.UUID,
                              type_code: str) -> SealRow | None:
    r = await conn.fetchrow(
        f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1 AND type = $2"  # noqa: S608
        " AND status = 'active'", enterprise_id, type_code)
    return _seal(r) if r else None


async def list_seals(conn: Conn, enterprise_id: uuid.UUID, *, limit: int,
                     after: tuple[datetime, uuid.UUID] | None) -> Page[SealRow]:
    at, key = after or (None, None)
    rows = await conn.fetch(
        f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1"  # noqa: S608
        " AND ($2::timestamptz IS NULL OR (created_at, seal_id) < ($2, $3::uuid))"
        " ORDER BY created_at DESC, seal_id DESC LIMIT $4",
        enterprise_id, at, key, limit + 1)
    items = [_seal(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(items, cursors.encode(items[-1].created_at, items[-1].seal_id) if more else None)


async def enterprise_seals(conn: Conn, enterprise_id: uuid.UUID) -> list[SealRow]:
    rows = await conn.fetch(f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1"  # noqa: S608
                            " ORDER BY created_at, seal_id", enterprise_id)
    return [_seal(r) for r in rows]


async def insert_seal_blobs(conn: Conn, seal_id: uuid.UUID, png: bytes, sha256: str,
                            certificate: SealCertificate) -> None:
    await conn.execute("INSERT INTO seal_images (seal_id, png, sha256) VALUES ($1, $2, $3)",
                       seal_id, png, sha256)
    await conn.execute(
        "INSERT INTO seal_certificates (seal_id, certificate_id, serial_number, certificate_pem,"
        " chain_pem) VALUES ($1, $2, $3, $4, $5)", seal_id, certificate.certificate_id,
        certificate.serial_number, certificate.certificate_pem, list(certificate.chain_pem))


async def seal_image(conn: Conn, seal_id: uuid.UUID) -> tuple[bytes, str] | None:
    r = await conn.fetchrow("SELECT png, sha256 FROM seal_images WHERE seal_id = $1", seal_id)
    return (bytes(r["png"]), str(r["sha256"])) if r else None


async def seal_certificate(conn: Conn, seal_id: uuid.UUID) -> SealCertificate | None:
    r = await conn.fetchrow("SELECT certificate_id, serial_number, certificate_pem, chain_pem"
                            " FROM seal_certificates WHERE seal_id = $1", seal_id)
    if r is None:
        return None
    return SealCertificate(r["certificate_id"], r["serial_number"], r["certificate_pem"],
                           list(r["chain_pem"] or []))


# --- grants -------------------------------------------------------------------------------


async def get_grant(conn: Conn, grant_id: uuid.UUID, lock: Lock = None) -> GrantRow | None:
    r = await conn.fetchrow(f"SELECT {_GRANT_COLUMNS} FROM grants WHERE grant_id = $1{_LOCKS[lock]}",  # noqa: S608
                            grant_id)
    return _grant(r) if r else None


async def live_grant(conn: Conn, seal_id: uuid.UUID, person_id: uuid.UUID,
                     lock: Lock = None) -> GrantRow | None:
    r = await conn.fetchrow(
        f"SELECT {_GRANT_COLUMNS} FROM grants WHERE seal_id = $1 AND person_id = $2"  # noqa: S608
        f" AND NOT deleted{_LOCKS[lock]}", seal_id, person_id)
    return _grant(r) if r else None


async def list_grants(conn: Conn, seal_id: uuid.UUID, *, limit: int,
                      after: tuple[datetime, uuid.UUID] | None) -> Page[GrantRow]:
    at, key = after or (None, None)
    rows = await conn.fetch(
        f"SELECT {_GRANT_COLUMNS} FROM grants WHERE seal_id = $1 AND NOT deleted"  # noqa: S608
        " AND ($2::timestamptz IS NULL OR (created_at, grant_id) > ($2, $3::uuid))"
        " ORDER BY created_at, grant_id LIMIT $4", seal_id, at, key, limit + 1)
    items = [_grant(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(items, cursors.encode(items[-1].created_at, items[-1].grant_id) if more else None)


async def usable_grantees(conn: Conn, seal_id: uuid.UUID, today: date) -> list[uuid.UUID]:
    """Persons whose live grant of the seal covers ``today``: who may use it now."""
    rows = await conn.fetch(
        "SELECT person_id FROM grants WHERE seal_id = $1 AND NOT deleted"
        " AND valid_from <= $2 AND valid_to >= $2 ORDER BY created_at, grant_id", seal_id, today)
    return [r["person_id"] for r in rows]


# --- the grantee's side -------------------------------------------------------------------

_GRANTED = f"""
    SELECT {_prefixed(_SEAL_COLUMNS, 's')},
           {', '.join(f'g.{c.strip()} AS g_{c.strip()}' for c in _GRANT_COLUMNS.split(','))},
           coalesce(e.name, '') AS enterprise_name, coalesce(e.uscc, '') AS enterprise_uscc
      FROM grants g
      JOIN seals s ON s.seal_id = g.seal_id AND s.status = 'active'
      LEFT JOIN enterprises e ON e.enterprise_id = s.enterprise_id
     WHERE g.person_id = $1 AND NOT g.deleted AND g.valid_to >= $2
       AND ($3::uuid IS NULL OR s.enterprise_id = $3)
       AND ($4::uuid IS NULL OR s.seal_id = $4)
       AND (NOT $5 OR g.valid_from <= $2)
     ORDER BY enterprise_name, s.enterprise_id, s.created_at, s.seal_id
"""  # noqa: S608 - constant column lists


def _granted(r: asyncpg.Record) -> GrantedSeal:
    grant = GrantRow(**{k: r[f"g_{k}"] for k in GrantRow.__dataclass_fields__})
    return GrantedSeal(_seal(r), r["enterprise_name"], r["enterprise_uscc"], grant)


async def granted_seals(conn: Conn, person_id: uuid.UUID, today: date, *,
                        enterprise_id: uuid.UUID | None = None, seal_id: uuid.UUID | None = None,
                        usable_only: bool = False) -> list[GrantedSeal]:
    """Active seals granted to a person by a live grant not over yet (pending ones too,
    unless ``usable_only``: then only grants whose window covers ``today``)."""
    rows = await conn.fetch(_GRANTED, person_id, today, enterprise_id, seal_id, usable_only)
    return [_granted(r) for r in rows]


# --- personal signatures ------------------------------------------------------------------


async def live_signature(conn: Conn, person_id: uuid.UUID,
                         lock: Lock = None) -> SignatureRow | None:
    r = await conn.fetchrow(
        "SELECT signature_id, person_id, method, image_sha256, created_at, version"  # noqa: S608
        f" FROM signatures WHERE person_id = $1 AND NOT deleted{_LOCKS[lock]}", person_id)
    return SignatureRow(**dict(r)) if r else None


async def insert_signature_image(conn: Conn, signature_id: uuid.UUID, png: bytes,
                                 sha256: str) -> None:
    await conn.execute("INSERT INTO signature_images (signature_id, png, sha256) VALUES ($1, $2, $3)",
                       signature_id, png, sha256)


async def delete_signature_image(conn: Conn, signature_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM signature_images WHERE signature_id = $1", signature_id)


async def signature_image(conn: Conn, signature_id: uuid.UUID) -> tuple[bytes, str] | None:
    r = await conn.fetchrow("SELECT png, sha256 FROM signature_images WHERE signature_id = $1",
                            signature_id)
    return (bytes(r["png"]), str(r["sha256"])) if r else None


# --- directory ----------------------------------------------------------------------------


async def enterprise(conn: Conn, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
    r = await conn.fetchrow("SELECT enterprise_id, name, uscc, legal_representative_name"
                            " FROM enterprises WHERE enterprise_id = $1", enterprise_id)
    return EnterpriseInfo(**dict(r)) if r else None


async def person_name(conn: Conn, person_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM persons WHERE person_id = $1", person_id)
    return name


async def agent(conn: Conn, agent_id: uuid.UUID) -> AgentRecord | None:
    r = await conn.fetchrow("SELECT agent_id, enterprise_id, valid_from, valid_to, can_manage,"
                            " removed FROM agents WHERE agent_id = $1", agent_id)
    return AgentRecord(**dict(r)) if r else None


# --- pending certificate revocations -----------------------------------------------------


async def add_pending_revocation(conn: Conn, seal_id: uuid.UUID, reason: str) -> None:
    await conn.execute("INSERT INTO pending_certificate_revocations (seal_id, reason) VALUES ($1, $2)"
                       " ON CONFLICT (seal_id) DO NOTHING", seal_id, reason)


async def done_pending_revocation(conn: Conn, seal_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM pending_certificate_revocations WHERE seal_id = $1", seal_id)


async def due_pending_revocations(conn: Conn, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Claims due rows (another replica skips them while we hold the transaction)."""
    rows = await conn.fetch(
        "SELECT seal_id, reason FROM pending_certificate_revocations WHERE next_try <= now()"
        " ORDER BY next_try LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
    return [(r["seal_id"], r["reason"]) for r in rows]


async def postpone_pending_revocation(conn: Conn, seal_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        "UPDATE pending_certificate_revocations SET attempts = attempts + 1, last_error = $2,"
        " next_try = now() + least(interval '5 minutes', interval '2 seconds' * (2 ^ least(attempts, 8)))"
        " WHERE seal_id = $1", seal_id, error[:500])
