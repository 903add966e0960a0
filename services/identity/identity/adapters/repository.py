"""All SQL of the identity service: its streams (through the unit of work) and its state
tables (see migrations/0001_identity.sql); ``service_layer.ports.IdentityRepository`` on
PostgreSQL, and the signing keys that bootstrap loads.

Column lists are module constants interpolated into the SQL (``noqa: S608``); every value
is a bind parameter.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import DomainEvent
from shared.lockout import LockState
from shared.unit_of_work import Database, UnitOfWork

from ..domain.accounts import Account
from ..domain.events import login_stream
from ..domain.face import FaceCheck
from ..service_layer.ports import AccountConflict, OidcBindingConflict, Row

_ACCOUNT_COLUMNS = (
    "id, role, name, phone, password_hash, id_type, id_number, enterprise_id, enterprise_name,"
    " enterprise_uscc, legal_representative_name, can_manage, valid_from, valid_to,"
    " removed_at IS NOT NULL AS removed, failed_logins, locked_until, verification"
)
_FACE_COLUMNS = "id, subject_id, purpose, status, expires_at, token_expires_at, used_at, provider_ref"
# unique index of accounts -> the request field it protects
_CONFLICT_FIELDS = {
    "accounts_person_id_number": "id_number",
    "accounts_person_phone": "phone",
    "accounts_enterprise_uscc": "uscc",
}


def _account(r: asyncpg.Record) -> Account:
    d = dict(r)
    lock = LockState(d.pop("failed_logins"), d.pop("locked_until"))
    return Account(**d, lock=lock)


def _face_check(r: asyncpg.Record) -> FaceCheck:
    return FaceCheck(r["id"], r["subject_id"], r["purpose"], r["status"], r["expires_at"],
                     r["token_expires_at"], r["used_at"], r["provider_ref"])


def _row(r: asyncpg.Record | None) -> Row | None:
    return dict(r) if r is not None else None


class PgIdentityRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.conn = uow.conn

    # streams ---------------------------------------------------------------------------

    async def append(self, stream_id: str | uuid.UUID, stream_type: str, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        await self.uow.append(stream_id, stream_type, expected_version, events)

    async def append_login(self, principal_id: uuid.UUID, events: Sequence[DomainEvent]) -> None:
        """Append to ``login-<principal>``; the caller holds the account row lock."""
        version = int(await self.conn.fetchval("SELECT login_version FROM accounts WHERE id = $1",
                                               principal_id))
        await self.uow.append(login_stream(principal_id), "login", version, events)
        await self.set_login_version(principal_id, version + len(events))

    async def set_login_version(self, account_id: uuid.UUID, version: int) -> None:
        await self.conn.execute("UPDATE accounts SET login_version = $2 WHERE id = $1", account_id, version)

    # accounts --------------------------------------------------------------------------

    async def registered_field(self, role: str, id_number: str | None, phone: str | None,
                               uscc: str | None) -> str | None:
        field: str | None
        if role == "person":
            field = await self.conn.fetchval(
                "SELECT CASE WHEN id_number = $1 THEN 'id_number' ELSE 'phone' END"
                " FROM accounts WHERE role = 'person' AND verification <> 'pending_verification'"
                " AND (id_number = $1 OR phone = $2) LIMIT 1", id_number, phone)
        else:
            field = await self.conn.fetchval(
                "SELECT 'uscc' FROM accounts WHERE role = 'enterprise' AND enterprise_uscc = $1", uscc)
        return field

    async def withdraw_pending_persons(self, id_number: str, phone: str) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            "DELETE FROM accounts a WHERE role = 'person' AND verification = 'pending_verification'"
            " AND (id_number = $1 OR phone = $2)"
            " AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.principal_id = a.id)"
            " AND NOT EXISTS (SELECT 1 FROM oidc_bindings b WHERE b.principal_id = a.id)"
            " RETURNING id", id_number, phone)
        return [row["id"] for row in rows]

    async def insert_account(self, account: Account, *, person_key: str | None = None) -> None:
        try:
            await self.conn.execute(
                "INSERT INTO accounts (id, role, name, phone, password_hash, id_type, id_number,"
                " person_key, enterprise_id, enterprise_name, enterprise_uscc, legal_representative_name,"
                " can_manage, valid_from, valid_to, verification)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
                account.id, account.role, account.name, account.phone, account.password_hash,
                account.id_type, account.id_number, person_key, account.enterprise_id,
                account.enterprise_name, account.enterprise_uscc, account.legal_representative_name,
                account.can_manage, account.valid_from, account.valid_to, account.verification,
            )
        except asyncpg.UniqueViolationError as exc:
            raise AccountConflict(_CONFLICT_FIELDS.get(exc.constraint_name or "", "id_number")) from None

    async def get_account(self, account_id: uuid.UUID, *, for_update: bool = False) -> Account | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1{lock}",  # noqa: S608
                                       account_id)
        return _account(row) if row else None

    async def find_login(self, role: str, username: str, enterprise_uscc: str | None) -> Account | None:
        """The account a username designates for ``role`` (removed agents excluded)."""
        if role == "person":
            sql = (f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE role = 'person'"  # noqa: S608
                   " AND (phone = $1 OR id_number = $1)")
            row = await self.conn.fetchrow(sql, username)
        elif role == "enterprise":
            row = await self.conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"  # noqa: S608
                                           " WHERE role = 'enterprise' AND enterprise_uscc = $1", username)
        else:
            row = await self.conn.fetchrow(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE role = 'agent' AND removed_at IS NULL"  # noqa: S608
                " AND phone = $1 AND enterprise_id = (SELECT id FROM accounts"
                "   WHERE role = 'enterprise' AND enterprise_uscc = $2)", username, enterprise_uscc or "")
        return _account(row) if row else None

    async def find_enterprise(self, enterprise_id: uuid.UUID) -> Account | None:
        row = await self.conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"  # noqa: S608
                                       " AND role = 'enterprise'", enterprise_id)
        return _account(row) if row else None

    async def save_lock(self, account_id: uuid.UUID, state: LockState) -> None:
        await self.conn.execute("UPDATE accounts SET failed_logins = $2, locked_until = $3 WHERE id = $1",
                                account_id, state.failures, state.locked_until)

    async def replace_password_hash(self, account_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
        """Swap in a re-made hash of the same password, unless the password changed meanwhile."""
        await self.conn.execute("UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                                account_id, old_hash, new_hash)

    async def update_agent(self, agent_id: uuid.UUID, **changes: Any) -> None:
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
        await self.conn.execute(f"UPDATE accounts SET {sets}, updated_at = now() WHERE id = $1",  # noqa: S608
                                agent_id, *changes.values())

    async def person_by_elements(self, id_number: str) -> Row | None:
        return _row(await self.conn.fetchrow(
            "SELECT id, name FROM accounts WHERE role = 'person' AND id_number = $1", id_number))

    async def me(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> Row | None:
        """The caller's account if its session is live (one query: /me is hot)."""
        return _row(await self.conn.fetchrow(
            "SELECT a.phone, a.certificate_status, a.valid_from, a.valid_to, a.can_manage,"
            " a.enterprise_uscc, a.verification FROM accounts a JOIN sessions s ON s.principal_id = a.id"
            " WHERE a.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND a.removed_at IS NULL",
            principal_id, session_id))

    async def set_verified(self, account_id: uuid.UUID) -> bool:
        return await self.conn.fetchval(
            "UPDATE accounts SET verification = 'verified' WHERE id = $1"
            " AND verification <> 'verified' RETURNING true", account_id) is not None

    async def set_certificate_status(self, principal_id: uuid.UUID, status: str,
                                     certificate_id: uuid.UUID | None = None) -> None:
        if status == "active":
            await self.conn.execute(
                "UPDATE accounts SET certificate_status = 'active', certificate_id = $2"
                " WHERE id = $1", principal_id, certificate_id)
            return
        # a revocation of a certificate already replaced (handled after its successor's
        # issue) changes nothing
        await self.conn.execute(
            "UPDATE accounts SET certificate_status = $2, certificate_id = NULL WHERE id = $1"
            " AND ($3::uuid IS NULL OR certificate_id IS NULL OR certificate_id = $3)",
            principal_id, status, certificate_id)

    # sessions --------------------------------------------------------------------------

    async def create_session(self, session_id: uuid.UUID, principal_id: uuid.UUID, method: str,
                             client_ip: str | None) -> None:
        await self.conn.execute("INSERT INTO sessions (id, principal_id, method, client_ip)"
                                " VALUES ($1,$2,$3,$4)", session_id, principal_id, method, client_ip)

    async def add_refresh_token(self, token_hash: bytes, session_id: uuid.UUID,
                                expires_at: datetime) -> None:
        await self.conn.execute("INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
                                " VALUES ($1,$2,$3)", token_hash, session_id, expires_at)

    async def use_refresh_token(self, token_hash: bytes, now: datetime) -> Row | None:
        """Mark the token used, atomically: of two concurrent refreshes only one gets the row."""
        return _row(await self.conn.fetchrow(
            "UPDATE refresh_tokens r SET used_at = $2 FROM sessions s"
            " WHERE r.token_hash = $1 AND r.used_at IS NULL AND s.id = r.session_id"
            " RETURNING r.session_id, r.expires_at, s.principal_id, s.revoked_at, s.method",
            token_hash, now))

    async def replayed_refresh_token(self, token_hash: bytes) -> uuid.UUID | None:
        """The principal whose already-used refresh token is presented again (theft sign)."""
        principal_id: uuid.UUID | None = await self.conn.fetchval(
            "SELECT s.principal_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id"
            " WHERE r.token_hash = $1 AND r.used_at IS NOT NULL", token_hash)
        return principal_id

    async def revoke_session(self, session_id: uuid.UUID, now: datetime) -> bool:
        status = await self.conn.execute(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", session_id, now)
        return status.endswith(" 1")

    async def session_live(self, principal_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM sessions WHERE id = $1 AND principal_id = $2 AND revoked_at IS NULL",
            session_id, principal_id))

    async def revoke_sessions_of(self, principal_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE sessions SET revoked_at = $2 WHERE principal_id = $1 AND revoked_at IS NULL",
            principal_id, now)

    async def recent_revocations(self, since: datetime) -> list[Row]:
        rows = await self.conn.fetch(
            "SELECT principal_id, session_id, reason, revoked_before FROM revocations"
            " WHERE occurred_at >= $1 ORDER BY occurred_at", since)
        return [dict(r) for r in rows]

    # face checks -----------------------------------------------------------------------

    async def insert_face_check(self, check: FaceCheck) -> None:
        await self.conn.execute("INSERT INTO face_checks (id, subject_id, purpose, status, expires_at,"
                                " provider_ref) VALUES ($1,$2,$3,$4,$5,$6)",
                                check.id, check.subject_id, check.purpose, check.status, check.expires_at,
                                check.provider_ref)

    async def face_check_for_update(self, check_id: uuid.UUID) -> FaceCheck | None:
        row = await self.conn.fetchrow(
            f"SELECT {_FACE_COLUMNS} FROM face_checks WHERE id = $1 FOR UPDATE", check_id)  # noqa: S608
        return _face_check(row) if row else None

    async def face_check_by_token(self, token_hash: bytes) -> FaceCheck | None:
        row = await self.conn.fetchrow(
            f"SELECT {_FACE_COLUMNS} FROM face_checks WHERE token_hash = $1 FOR UPDATE", token_hash)  # noqa: S608
        return _face_check(row) if row else None

    async def save_face_check(self, check: FaceCheck, token_hash: bytes | None = None) -> None:
        await self.conn.execute(
            "UPDATE face_checks SET status = $2, token_expires_at = $3, used_at = $4,"
            " token_hash = COALESCE($5, token_hash) WHERE id = $1",
            check.id, check.status, check.token_expires_at, check.used_at, token_hash)

    # throttling ------------------------------------------------------------------------

    async def count_hit(self, key: str, window_start: datetime) -> int:
        return int(await self.conn.fetchval(
            "INSERT INTO login_throttle (key, window_start, count) VALUES ($1, $2, 1)"
            " ON CONFLICT (key, window_start) DO UPDATE SET count = login_throttle.count + 1"
            " RETURNING count", key, window_start))

    async def current_count(self, key: str, window_start: datetime) -> int:
        return int(await self.conn.fetchval(
            "SELECT COALESCE((SELECT count FROM login_throttle WHERE key = $1 AND window_start = $2), 0)",
            key, window_start))

    # unified identity login (OpenID Connect) ---------------------------------------------

    async def find_person(self, id_number: str) -> Account | None:
        row = await self.conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"  # noqa: S608
                                       " WHERE role = 'person' AND id_number = $1", id_number)
        return _account(row) if row else None

    async def insert_oidc_login(self, state: str, nonce: str, code_verifier: str,
                                expires_at: datetime) -> None:
        await self.conn.execute("INSERT INTO oidc_logins (state, nonce, code_verifier, expires_at)"
                                " VALUES ($1,$2,$3,$4)", state, nonce, code_verifier, expires_at)

    async def use_oidc_login(self, state: str, now: datetime) -> Row | None:
        return _row(await self.conn.fetchrow(
            "UPDATE oidc_logins SET used_at = $2 WHERE state = $1 AND used_at IS NULL"
            " RETURNING nonce, code_verifier, expires_at", state, now))

    async def oidc_login_used(self, state: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT used_at IS NOT NULL FROM oidc_logins WHERE state = $1", state))

    async def oidc_binding(self, issuer: str, subject: str) -> uuid.UUID | None:
        principal_id: uuid.UUID | None = await self.conn.fetchval(
            "SELECT principal_id FROM oidc_bindings WHERE issuer = $1 AND subject = $2", issuer, subject)
        return principal_id

    async def bind_oidc(self, issuer: str, subject: str, principal_id: uuid.UUID) -> None:
        try:
            await self.conn.execute("INSERT INTO oidc_bindings (issuer, subject, principal_id)"
                                    " VALUES ($1,$2,$3)", issuer, subject, principal_id)
        except asyncpg.UniqueViolationError:
            raise OidcBindingConflict() from None

    # housekeeping and signing keys (bootstrap's, not the service layer's) ----------------

    async def purge_expired(self, now: datetime) -> None:
        """Counters, face checks and refresh tokens nobody can use any more."""
        await self.conn.execute("DELETE FROM login_throttle WHERE window_start < $1 - interval '1 day'", now)
        await self.conn.execute("DELETE FROM face_checks WHERE created_at < $1 - interval '1 day'", now)
        await self.conn.execute("DELETE FROM refresh_tokens WHERE expires_at < $1 - interval '1 day'", now)
        await self.conn.execute("DELETE FROM revocations WHERE occurred_at < $1 - interval '7 days'", now)
        await self.conn.execute("DELETE FROM oidc_logins WHERE created_at < $1 - interval '1 day'", now)

    async def lock_signing_keys(self, lock_key: int) -> None:
        """Until the transaction ends: one process at a time creates the first key."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key)

    async def signing_keys(self) -> list[asyncpg.Record]:
        """The unretired keys (kid, sealed private_key, public_jwk), newest first."""
        return list(await self.conn.fetch("SELECT kid, private_key, public_jwk FROM signing_keys"
                                          " WHERE retired_at IS NULL ORDER BY created_at DESC"))

    async def insert_signing_key(self, kid: str, sealed_private_key: bytes,
                                 public_jwk: dict[str, Any]) -> None:
        await self.conn.execute("INSERT INTO signing_keys (kid, private_key, public_jwk) VALUES ($1, $2, $3)",
                                kid, sealed_private_key, public_jwk)


@dataclass(frozen=True)
class PgIdentityStorage:
    """``IdentityStorage`` over the service's database (revocations: its inline projection)."""

    db: Database

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgIdentityRepository]:
        async with self.db.transaction() as uow:
            yield PgIdentityRepository(uow)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[PgIdentityRepository]:
        async with self.db.connection() as uow:
            yield PgIdentityRepository(uow)

    def within(self, conn: asyncpg.Connection) -> PgIdentityRepository:
        """On a connection someone else holds in a transaction (an event consumer's inbox)."""
        return PgIdentityRepository(UnitOfWork(conn, self.db.store, self.db.projections))
