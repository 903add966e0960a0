"""PostgreSQL helpers: create the service's database, pools with JSON codecs, migrations.

Migrations are ordered ``NNNN_name.sql`` files applied once each, inside one transaction
per file, under a cluster-wide advisory lock so two processes starting together are safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .logging import get_logger

log = get_logger(__name__)

# What every SQL helper takes: a connection, or one borrowed from a pool (``pool.acquire()``).
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

SHARED_SQL = Path(__file__).parent / "sql"
_MIGRATION_LOCK = 0x65_5345_414C  # "eSEAL": one key for every service's database


def _server_dsn(pg_url: str) -> str:
    return f"{pg_url.rstrip('/')}/postgres"


async def ensure_database(pg_url: str, name: str) -> None:
    """Create database ``name`` unless it exists (safe when raced)."""
    conn = await asyncpg.connect(_server_dsn(pg_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass
    finally:
        await conn.close()


async def drop_database(pg_url: str, name: str) -> None:
    conn = await asyncpg.connect(_server_dsn(pg_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ, encoder=lambda v: json.dumps(v, ensure_ascii=False), decoder=json.loads,
            schema="pg_catalog",
        )


# Pooled connections given session state (a LISTEN, a session-level advisory lock): their
# release runs asyncpg's full reset. The services keep none otherwise (their locks are
# transaction-level, their settings SET LOCAL), so every other release skips that round trip
# (issue 18: one per pool use, ~15 per stamp across the services, client and server CPU).
_SESSION_STATE: weakref.WeakSet[Any] = weakref.WeakSet()


def keeps_session_state(conn: Conn) -> None:
    """Say so before a LISTEN or a session-level advisory lock on a pooled connection: its
    release then resets the session (UNLISTEN *, pg_advisory_unlock_all, RESET ALL)."""
    _SESSION_STATE.add(getattr(conn, "_con", conn))  # a pool's proxy: the connection behind it


async def _reset(conn: asyncpg.Connection) -> None:
    # asyncpg has already rolled back an open transaction and dropped the listeners' callbacks
    if conn in _SESSION_STATE:
        _SESSION_STATE.discard(conn)
        if query := conn.get_reset_query():
            await conn.execute(query)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection,
                                     reset=_reset)
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


def migration_files(*dirs: Path) -> list[tuple[str, Path]]:
    """Shared files first (they are named ``0000_*``), then the service's own, by name."""
    files: list[tuple[str, Path]] = []
    for d in dirs:
        files.extend((f"{d.name}/{p.name}" if d == SHARED_SQL else p.name, p)
                     for p in sorted(d.glob("*.sql")))
    return files


async def migrate(dsn: str, service_migrations: Path | None) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    dirs = [SHARED_SQL] + ([service_migrations] if service_migrations else [])
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done: dict[str, str] = {
            r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        for name, path in migration_files(*dirs):
            sql = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    log.warning("migration_changed_after_apply", migration=name)
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", name, checksum
                )
            applied_now.append(name)
            log.info("migration_applied", migration=name)
    finally:
        # Closing the session releases the lock too; unlocking first just frees it sooner.
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        await conn.close()
    return applied_now


Record = asyncpg.Record
Connection = asyncpg.Connection
Pool = asyncpg.Pool
__all__ = ["Connection", "Pool", "Record", "connect", "create_pool", "drop_database", "keeps_session_state",
           "ensure_database", "migrate", "Any"]
