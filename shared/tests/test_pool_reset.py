"""Pool release: only a connection given session state pays for asyncpg's reset round trip;
an open transaction is rolled back either way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from shared.db import create_pool, keeps_session_state

LOCK = 0x7E57_0001


@pytest_asyncio.fixture
async def one(blank_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of one connection: every acquire gets the same session back."""
    pool = await create_pool(blank_dsn, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def _statements(pool: asyncpg.Pool, work: str) -> list[str]:
    """The statements the pool's connection runs for ``work`` and its release."""
    async with pool.acquire() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
    seen: list[str] = []
    async with pool.acquire() as conn:
        conn.add_query_logger(lambda q: seen.append(q.query))
        await conn.execute(work)
    async with pool.acquire() as conn:  # the same session: what it still holds
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid
    return seen


async def test_a_plain_release_skips_the_reset_round_trip(one: asyncpg.Pool) -> None:
    seen = await _statements(one, "SELECT 1")
    assert not any("RESET ALL" in q or "UNLISTEN" in q for q in seen), seen


async def test_an_open_transaction_is_rolled_back_on_release(one: asyncpg.Pool) -> None:
    async with one.acquire() as conn:
        await conn.execute("CREATE TABLE t (x int)")
    conn = await one.acquire()
    tx = conn.transaction()
    await tx.start()
    await conn.execute("INSERT INTO t VALUES (1)")
    await one.release(conn)  # left open (a caller that never ended it)
    async with one.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM t") == 0


async def test_a_connection_with_session_state_is_reset_on_release(one: asyncpg.Pool,
                                                                    blank_dsn: str) -> None:
    async with one.acquire() as conn:
        keeps_session_state(conn)
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        await conn.execute("LISTEN somewhere")
    other = await asyncpg.connect(blank_dsn)
    try:  # released with the session: another session takes the lock at once
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
    finally:
        await other.close()
    async with one.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        # and the next plain release is plain again
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
    other = await asyncpg.connect(blank_dsn)
    try:
        assert not await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
    finally:
        await other.close()
