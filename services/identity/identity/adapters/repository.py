"""SQL of the identity service's state tables (see migrations/0001_identity.sql).

Column lists are module constants interpolated into the SQL (``noqa: S608``); every value
is a bind parameter.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.lockout import LockState

from ..domain.accounts import Account
from ..domain.face import FaceCheck

_ACCOUNT_COLUMNS = (
    "id, role, name, phone, password_hash, id_type, id_number, enterprise_id, enterprise_name,"
    " enterprise_uscc, legal_representative_name, can_manage, valid_from, valid_to,"
    " removed_at IS NOT NULL AS removed, failed_logins, locked_until"
)


def _account(r: asyncpg.Record) -> Account:
    d = dict(r)
    lock = LockState(d.pop("failed_logins"), d.pop("locked_until"))
    return Account(**d, lock=lock)


async def insert_account(conn: asyncpg.Connection, account: Account, *,
                         person_key: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO accounts (id, role, name, phone, password_hash, id_type, id_number, person_key,"
        " enterprise_id, enterprise_name, enterprise_uscc, legal_representative_name, can_manage,"
        " valid_from, valid_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
        account.id, account.role, account.name, account.phone, account.password_hash,
        account.id_type, account.id_number, person_key, account.enterprise_id,
        account.enterprise_name, account.enterprise_uscc, account.legal_representative_name,
        account.can_manage, account.valid_from, account.valid_to,
    )


async def get_account(conn: asyncpg.Connection, account_id: uuid.UUID, *,
                      for_update: bool = False) -> Account | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1{lock}", account_id)  # noqa: S608
    return _account(row) if row else None


async def login_version(conn: asyncpg.Connection, account_id: uuid.UUID) -> int:
    """Current version of ``login-<id>``; call with the account row locked."""
    return int(await conn.fetchval("SELECT login_version FROM accounts WHERE id = $1", account_id))


async def set_login_version(conn: asyncpg.Connection, account_id: uuid.UUID, version: int) -> None:
    await conn.execute("UPDATE accounts SET login_version = $2 WHERE id = $1", account_id, version)


async def find_login(conn: asyncpg.Connection, role: str, username: str,
                     enterprise_uscc: str | None) -> Account | None:
    """The account a username designates for ``role`` (removed agents excluded)."""
    if role == "person":
        sql = (f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE role = 'person'"  # noqa: S608
               " AND (phone = $1 OR id_number = $1)")
        row = await conn.fetchrow(sql, username)
    elif role == "enterprise":
        row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"  # noqa: S608
                                  " WHERE role = 'enterprise' AND enterprise_uscc = $1", username)
    else:
        row = await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE role = 'agent' AND removed_at IS NULL"  # noqa: S608
            " AND phone = $1 AND enterprise_id = (SELECT id FROM accounts"
            "   WHERE role = 'enterprise' AND enterprise_uscc = $2)", username, enterprise_uscc or "")
    return _account(row) if row else None


async def find_enterprise(conn: asyncpg.Connection, enterprise_id: uuid.UUID) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"  # noqa: S608
                              " AND role = 'enterprise'", enterprise_id)
    return _account(row) if row else None


async def save_lock(conn: asyncpg.Connection, account_id: uuid.UUID, state: LockState) -> None:
    await conn.execute("UPDATE accounts SET failed_logins = $2, locked_until = $3 WHERE id = $1",
                       account_id, state.failures, state.locked_until)


async def replace_password_hash(conn: asyncpg.Connection, account_id: uuid.UUID,
                                old_hash: str, new_hash: str) -> None:
    """Swap in a re-made hash of the same password, unless the password changed meanwhile."""
    await conn.execute("UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                       account_id, old_hash, new_hash)


async def update_agent(conn: asyncpg.Connection, agent_id: uuid.UUID, **changes: Any) -> None:
    sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
    await conn.execute(f"UPDATE accounts SET {sets}, updated_at = now() WHERE id = $1",  # noqa: S608
                       agent_id, *changes.values())


async def person_by_elements(conn: asyncpg.Connection, id_number: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, name FROM accounts WHERE role = 'person' AND id_number = $1",
                               id_number)


async def me(conn: asyncpg.Connection, principal_id: uuid.UUID,
             session_id: uuid.UUID) -> asyncpg.Record | None:
    """The caller's account if its session is live (one query: /me is hot)."""
    return await conn.fetchrow(
        "SELECT a.phone, a.certificate_status, a.valid_from, a.valid_to, a.can_manage,"
        " a.enterprise_uscc FROM accounts a JOIN sessions s ON s.principal_id = a.id"
        " WHERE a.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND a.removed_at IS NULL",
        principal_id, session_id)


async def set_certificate_status(conn: asyncpg.Connection, principal_id: uuid.UUID, status: str) -> None:
    await conn.execute("UPDATE accounts SET certificate_status = $2 WHERE id = $1", principal_id, status)


# sessions --------------------------------------------------------------------------


async def create_session(conn: asyncpg.Connection, session_id: uuid.UUID, principal_id: uuid.UUID,
                         method: str, client_ip: str | None) -> None:
    await conn.execute("INSERT INTO sessions (id, principal_id, method, client_ip) VALUES ($1,$2,$3,$4)",
                       session_id, principal_id, method, client_ip)


async def add_refresh_token(conn: asyncpg.Connection, token_hash: bytes, session_id: uuid.UUID,
                            expires_at: datetime) -> None:
    await conn.execute("INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1,$2,$3)",
                       token_hash, session_id, expires_at)


async def use_refresh_token(conn: asyncpg.Connection, token_hash: bytes,
                            now: datetime) -> asyncpg.Record | None:
    """Mark the token used, atomically: of two concurrent refreshes only one gets the row."""
    return await conn.fetchrow(
        "UPDATE refresh_tokens r SET used_at = $2 FROM sessions s"
        " WHERE r.token_hash = $1 AND r.used_at IS NULL AND s.id = r.session_id"
        " RETURNING r.session_id, r.expires_at, s.principal_id, s.revoked_at, s.method",
        token_hash, now)


async def replayed_refresh_token(conn: asyncpg.Connection, token_hash: bytes) -> uuid.UUID | None:
    """The principal whose already-used refresh token is presented again (theft sign)."""
    principal_id: uuid.UUID | None = await conn.fetchval(
        "SELECT s.principal_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id"
        " WHERE r.token_hash = $1 AND r.used_at IS NOT NULL", token_hash)
    return principal_id


async def revoke_session(conn: asyncpg.Connection, session_id: uuid.UUID, now: datetime) -> bool:
    status = await conn.execute("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                                session_id, now)
    return status.endswith(" 1")


async def session_live(conn: asyncpg.Connection, principal_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM sessions WHERE id = $1 AND principal_id = $2 AND revoked_at IS NULL",
        session_id, principal_id))


async def revoke_sessions_of(conn: asyncpg.Connection, principal_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE sessions SET revoked_at = $2 WHERE principal_id = $1 AND revoked_at IS NULL",
                       principal_id, now)


async def recent_revocations(conn: asyncpg.Connection, since: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT principal_id, session_id, reason, revoked_before FROM revocations"
        " WHERE occurred_at >= $1 ORDER BY occurred_at", since)


# face checks -----------------------------------------------------------------------


async def insert_face_check(conn: asyncpg.Connection, check: FaceCheck) -> None:
    await conn.execute("INSERT INTO face_checks (id, subject_id, purpose, status, expires_at)"
                       " VALUES ($1,$2,$3,$4,$5)",
                       check.id, check.subject_id, check.purpose, check.status, check.expires_at)


def _face_check(r: asyncpg.Record) -> FaceCheck:
    return FaceCheck(r["id"], r["subject_id"], r["purpose"], r["status"], r["expires_at"],
                     r["token_expires_at"], r["used_at"])


_FACE_COLUMNS = "id, subject_id, purpose, status, expires_at, token_expires_at, used_at"


async def face_check_for_update(conn: asyncpg.Connection, check_id: uuid.UUID) -> FaceCheck | None:
    row = await conn.fetchrow(f"SELECT {_FACE_COLUMNS} FROM face_checks WHERE id = $1 FOR UPDATE", check_id)  # noqa: S608
    return _face_check(row) if row else None


async def face_check_by_token(conn: asyncpg.Connection, token_hash: bytes) -> FaceCheck | None:
    row = await conn.fetchrow(f"SELECT {_FACE_COLUMNS} FROM face_checks WHERE token_hash = $1 FOR UPDATE",  # noqa: S608
                              token_hash)
    return _face_check(row) if row else None


async def save_face_check(conn: asyncpg.Connection, check: FaceCheck,
                          token_hash: bytes | None = None) -> None:
    await conn.execute(
        "UPDATE face_checks SET status = $2, token_expires_at = $3, used_at = $4,"
        " token_hash = COALESCE($5, token_hash) WHERE id = $1",
        check.id, check.status, check.token_expires_at, check.used_at, token_hash)


# throttling ------------------------------------------------------------------------


async def count_hit(conn: asyncpg.Connection, key: str, window_start: datetime) -> int:
    return int(await conn.fetchval(
        "INSERT INTO login_throttle (key, window_start, count) VALUES ($1, $2, 1)"
        " ON CONFLICT (key, window_start) DO UPDATE SET count = login_throttle.count + 1"
        " RETURNING count", key, window_start))


async def current_count(conn: asyncpg.Connection, key: str, window_start: datetime) -> int:
    return int(await conn.fetchval(
        "SELECT COALESCE((SELECT count FROM login_throttle WHERE key = $1 AND window_start = $2), 0)",
        key, window_start))


async def purge_expired(conn: asyncpg.Connection, now: datetime) -> None:
    """Housekeeping: counters, face checks and refresh tokens nobody can use any more."""
    await conn.execute("DELETE FROM login_throttle WHERE window_start < $1 - interval '1 day'", now)
    await conn.execute("DELETE FROM face_checks WHERE created_at < $1 - interval '1 day'", now)
    await conn.execute("DELETE FROM refresh_tokens WHERE expires_at < $1 - interval '1 day'", now)
    await conn.execute("DELETE FROM revocations WHERE occurred_at < $1 - interval '7 days'", now)
