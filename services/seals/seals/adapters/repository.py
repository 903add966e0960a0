"""All SQL of the seals service: its streams (through the unit of work, the state tables
its inline projection), blobs, the directory, pending work (``service_layer.ports.SealRepository``
on PostgreSQL).

``lock`` picks the row lock a read takes (``ports.Lock``): ``share`` (stamping: the row may
not change until we commit) or ``update`` (revocation, grant changes: wait for every stamping
transaction holding a share lock, and keep new ones out until we commit).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from shared import agent_directory, cursors
from shared.catalog import SealIssued
from shared.events import DomainEvent
from shared.unit_of_work import Database, UnitOfWork

from ..domain.access import AgentRecord
from ..domain.errors import GrantExists, SealTypeTaken, SignatureExists
from ..service_layer.ports import (
    EnterpriseInfo,
    GrantedSeal,
    GrantRow,
    Lock,
    Page,
    SealCertificate,
    SealRow,
    SignatureRow,
)

__all__ = ["GrantRow", "GrantedSeal", "Page", "PgSealRepository", "PgSealStorage", "SealRow",
           "SignatureRow"]

_LOCKS = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}
_SEAL_COLUMNS = ("seal_id, enterprise_id, type, name, status, image_sha256, certificate_serial,"
                 " issued_by, created_at, revoked_at, revoked_by, revoke_reason, version,"
                 " approval_required, approvers")
_GRANT_COLUMNS = ("grant_id, seal_id, enterprise_id, person_id, person_name, id_number_masked,"
                  " valid_from, valid_to, deleted, granted_by, created_at, updated_at, version")


def _seal(r: asyncpg.Record) -> SealRow:
    values = {k: r[k] for k in SealRow.__dataclass_fields__}
    values["approvers"] = tuple(values["approvers"] or ())
    return SealRow(**values)


def _grant(r: asyncpg.Record) -> GrantRow:
    return GrantRow(**{k: r[k] for k in GrantRow.__dataclass_fields__})


def _prefixed(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))



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


class PgSealRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.conn = uow.conn

    # --- streams --------------------------------------------------------------------------

    async def append(self, stream_id: uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent], actor: uuid.UUID | None) -> None:
        metadata = {"actor_id": str(actor)} if actor else None
        try:
            await self.uow.append(stream_id, stream_type, expected_version, events, metadata=metadata)
        except asyncpg.UniqueViolationError as exc:
            # the state tables' unique indexes are the final arbiters of these rules
            if exc.constraint_name == "grants_one_live_per_person":
                raise GrantExists() from None
            if exc.constraint_name == "signatures_one_per_person":
                raise SignatureExists() from None
            issued = [ev for ev in events if isinstance(ev, SealIssued)]
            if exc.constraint_name == "seals_one_active_per_type" and issued:
                raise SealTypeTaken(issued[0].type) from None
            raise

    async def load(self, stream_id: uuid.UUID) -> list[DomainEvent]:
        return [e.decode() for e in await self.uow.load(stream_id)]

    # --- seals ----------------------------------------------------------------------------

    async def get_seal(self, seal_id: uuid.UUID, lock: Lock = None) -> SealRow | None:
        r = await self.conn.fetchrow(
            f"SELECT {_SEAL_COLUMNS} FROM seals WHERE seal_id = $1{_LOCKS[lock]}", seal_id)  # noqa: S608
        return _seal(r) if r else None

    async def approvable_seals(self, principal_id: uuid.UUID) -> list[SealRow]:
        """Active seals requiring approval that name ``principal_id`` among their approvers."""
        rows = await self.conn.fetch(
            f"SELECT {_SEAL_COLUMNS} FROM seals WHERE approval_required AND status = 'active'"  # noqa: S608
            " AND approvers @> ARRAY[$1::uuid] ORDER BY created_at, seal_id", principal_id)
        return [_seal(r) for r in rows]

    async def lock_seal_type(self, enterprise_id: uuid.UUID, type_code: str) -> None:
        digest = hashlib.sha256(f"seal-type:{enterprise_id}:{type_code}".encode()).digest()
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)",
                                int.from_bytes(digest[:8], "big", signed=True))

    async def active_seal_of_type(self, enterprise_id: uuid.UUID, type_code: str) -> SealRow | None:
        r = await self.conn.fetchrow(
            f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1 AND type = $2"  # noqa: S608
            " AND status = 'active'", enterprise_id, type_code)
        return _seal(r) if r else None

    async def list_seals(self, enterprise_id: uuid.UUID, *, limit: int,
                         after: tuple[datetime, uuid.UUID] | None) -> Page[SealRow]:
        at, key = after or (None, None)
        rows = await self.conn.fetch(
            f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1"  # noqa: S608
            " AND ($2::timestamptz IS NULL OR (created_at, seal_id) < ($2, $3::uuid))"
            " ORDER BY created_at DESC, seal_id DESC LIMIT $4",
            enterprise_id, at, key, limit + 1)
        items = [_seal(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, cursors.encode(items[-1].created_at, items[-1].seal_id) if more else None)

    async def enterprise_seals(self, enterprise_id: uuid.UUID) -> list[SealRow]:
        rows = await self.conn.fetch(
            f"SELECT {_SEAL_COLUMNS} FROM seals WHERE enterprise_id = $1"  # noqa: S608
            " ORDER BY created_at, seal_id", enterprise_id)
        return [_seal(r) for r in rows]

    async def insert_seal_blobs(self, seal_id: uuid.UUID, png: bytes, sha256: str,
                                certificate: SealCertificate) -> None:
        await self.conn.execute("INSERT INTO seal_images (seal_id, png, sha256) VALUES ($1, $2, $3)",
                                seal_id, png, sha256)
        await self.conn.execute(
            "INSERT INTO seal_certificates (seal_id, certificate_id, serial_number, certificate_pem,"
            " chain_pem) VALUES ($1, $2, $3, $4, $5)", seal_id, certificate.certificate_id,
            certificate.serial_number, certificate.certificate_pem, list(certificate.chain_pem))

    async def seal_image(self, seal_id: uuid.UUID) -> tuple[bytes, str] | None:
        r = await self.conn.fetchrow("SELECT png, sha256 FROM seal_images WHERE seal_id = $1", seal_id)
        return (bytes(r["png"]), str(r["sha256"])) if r else None

    async def stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str) -> bytes | None:
        der = await self.conn.fetchval("SELECT der FROM stamp_esls WHERE seal_id = $1"
                                       " AND certificate_serial = $2", seal_id, certificate_serial)
        return bytes(der) if der is not None else None

    async def keep_stamp_esl(self, seal_id: uuid.UUID, certificate_serial: str, der: bytes) -> None:
        await self.conn.execute(
            "INSERT INTO stamp_esls (seal_id, certificate_serial, der) VALUES ($1, $2, $3)"
            " ON CONFLICT (seal_id) DO UPDATE SET certificate_serial = EXCLUDED.certificate_serial,"
            " der = EXCLUDED.der, made_at = now()", seal_id, certificate_serial, der)

    async def seal_certificate(self, seal_id: uuid.UUID) -> SealCertificate | None:
        r = await self.conn.fetchrow("SELECT certificate_id, serial_number, certificate_pem, chain_pem"
                                     " FROM seal_certificates WHERE seal_id = $1", seal_id)
        if r is None:
            return None
        return SealCertificate(r["certificate_id"], r["serial_number"], r["certificate_pem"],
                               list(r["chain_pem"] or []))

    # --- grants ---------------------------------------------------------------------------

    async def get_grant(self, grant_id: uuid.UUID, lock: Lock = None) -> GrantRow | None:
        r = await self.conn.fetchrow(
            f"SELECT {_GRANT_COLUMNS} FROM grants WHERE grant_id = $1{_LOCKS[lock]}", grant_id)  # noqa: S608
        return _grant(r) if r else None

    async def live_grant(self, seal_id: uuid.UUID, person_id: uuid.UUID,
                         lock: Lock = None) -> GrantRow | None:
        r = await self.conn.fetchrow(
            f"SELECT {_GRANT_COLUMNS} FROM grants WHERE seal_id = $1 AND person_id = $2"  # noqa: S608
            f" AND NOT deleted{_LOCKS[lock]}", seal_id, person_id)
        return _grant(r) if r else None

    async def list_grants(self, seal_id: uuid.UUID, *, limit: int,
                          after: tuple[datetime, uuid.UUID] | None) -> Page[GrantRow]:
        at, key = after or (None, None)
        rows = await self.conn.fetch(
            f"SELECT {_GRANT_COLUMNS} FROM grants WHERE seal_id = $1 AND NOT deleted"  # noqa: S608
            " AND ($2::timestamptz IS NULL OR (created_at, grant_id) > ($2, $3::uuid))"
            " ORDER BY created_at, grant_id LIMIT $4", seal_id, at, key, limit + 1)
        items = [_grant(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, cursors.encode(items[-1].created_at, items[-1].grant_id) if more else None)

    async def usable_grantees(self, seal_id: uuid.UUID, today: date) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            "SELECT person_id FROM grants WHERE seal_id = $1 AND NOT deleted"
            " AND valid_from <= $2 AND valid_to >= $2 ORDER BY created_at, grant_id", seal_id, today)
        return [r["person_id"] for r in rows]

    async def granted_seals(self, person_id: uuid.UUID, today: date, *,
                            enterprise_id: uuid.UUID | None = None, seal_id: uuid.UUID | None = None,
                            usable_only: bool = False) -> list[GrantedSeal]:
        rows = await self.conn.fetch(_GRANTED, person_id, today, enterprise_id, seal_id, usable_only)
        return [_granted(r) for r in rows]

    # --- personal signatures --------------------------------------------------------------

    async def live_signature(self, person_id: uuid.UUID, lock: Lock = None) -> SignatureRow | None:
        r = await self.conn.fetchrow(
            "SELECT signature_id, person_id, method, image_sha256, created_at, version"  # noqa: S608
            f" FROM signatures WHERE person_id = $1 AND NOT deleted{_LOCKS[lock]}", person_id)
        return SignatureRow(**dict(r)) if r else None

    async def insert_signature_image(self, signature_id: uuid.UUID, png: bytes, sha256: str) -> None:
        await self.conn.execute(
            "INSERT INTO signature_images (signature_id, png, sha256) VALUES ($1, $2, $3)",
            signature_id, png, sha256)

    async def delete_signature_image(self, signature_id: uuid.UUID) -> None:
        await self.conn.execute("DELETE FROM signature_images WHERE signature_id = $1", signature_id)

    async def signature_image(self, signature_id: uuid.UUID) -> tuple[bytes, str] | None:
        r = await self.conn.fetchrow("SELECT png, sha256 FROM signature_images WHERE signature_id = $1",
                                     signature_id)
        return (bytes(r["png"]), str(r["sha256"])) if r else None

    # --- directory ------------------------------------------------------------------------

    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
        r = await self.conn.fetchrow("SELECT enterprise_id, name, uscc, legal_representative_name"
                                     " FROM enterprises WHERE enterprise_id = $1", enterprise_id)
        return EnterpriseInfo(**dict(r)) if r else None

    async def person_name(self, person_id: uuid.UUID) -> str | None:
        name: str | None = await self.conn.fetchval("SELECT name FROM persons WHERE person_id = $1",
                                                    person_id)
        return name

    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None:
        r = await self.conn.fetchrow("SELECT agent_id, enterprise_id, valid_from, valid_to, can_manage,"
                                     " removed FROM agents WHERE agent_id = $1", agent_id)
        return AgentRecord(**dict(r)) if r else None

    async def record_enterprise(self, info: EnterpriseInfo) -> None:
        await agent_directory.record_enterprise(self.conn, info.enterprise_id, info.name, info.uscc,
                                                info.legal_representative_name)

    async def record_person(self, person_id: uuid.UUID, name: str) -> None:
        await agent_directory.record_person(self.conn, person_id, name)

    # --- pending certificate revocations --------------------------------------------------

    async def add_pending_revocation(self, seal_id: uuid.UUID, reason: str) -> None:
        await self.conn.execute(
            "INSERT INTO pending_certificate_revocations (seal_id, reason) VALUES ($1, $2)"
            " ON CONFLICT (seal_id) DO NOTHING", seal_id, reason)

    async def done_pending_revocation(self, seal_id: uuid.UUID) -> None:
        await self.conn.execute("DELETE FROM pending_certificate_revocations WHERE seal_id = $1", seal_id)

    async def due_pending_revocations(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        rows = await self.conn.fetch(
            "SELECT seal_id, reason FROM pending_certificate_revocations WHERE next_try <= now()"
            " ORDER BY next_try LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [(r["seal_id"], r["reason"]) for r in rows]

    async def postpone_pending_revocation(self, seal_id: uuid.UUID, error: str) -> None:
        await self.conn.execute(
            "UPDATE pending_certificate_revocations SET attempts = attempts + 1, last_error = $2,"
            " next_try = now() + least(interval '5 minutes', interval '2 seconds' * (2 ^ least(attempts, 8)))"
            " WHERE seal_id = $1", seal_id, error[:500])


@dataclass(frozen=True)
class PgSealStorage:
    """``SealStorage`` over the service's database (the state tables are its inline projection)."""

    db: Database

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgSealRepository]:
        async with self.db.transaction() as uow:
            yield PgSealRepository(uow)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[PgSealRepository]:
        async with self.db.connection() as uow:
            yield PgSealRepository(uow)
