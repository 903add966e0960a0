"""Fixtures of the common library's tests: real PostgreSQL and RabbitMQ, never shared.

Every test gets its own database ``eseal_lib_<random>`` (migrated, dropped afterwards);
the session gets its own RabbitMQ vhost ``eseal_lib_<random>`` (deleted afterwards), so a
developer's platform or another test run on the same servers is never touched.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import asyncpg
import pytest
import pytest_asyncio

from shared.bus import declare_events_exchange
from shared.db import create_pool, drop_database, ensure_database, migrate
from shared.eventstore import EventStore

from .support import PRODUCER, Vhost, unique

PG_URL = os.environ.get("ESEAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def vhost() -> Iterator[Vhost]:
    v = Vhost(f"eseal_lib_{uuid.uuid4().hex[:10]}")
    _rabbitmqctl("add_vhost", v.name)
    _rabbitmqctl("set_permissions", "-p", v.name, "guest", ".*", ".*", ".*")
    try:
        yield v
    finally:
        _rabbitmqctl("delete_vhost", v.name, check=False)


async def _new_database(migrated: bool) -> str:
    name = f"eseal_lib_{uuid.uuid4().hex[:12]}"
    await ensure_database(PG_URL, name)
    dsn = f"{PG_URL}/{name}"
    if migrated:
        await migrate(dsn, None)
    return dsn


@pytest_asyncio.fixture
async def blank_dsn() -> AsyncIterator[str]:
    """A database of its own, created but not migrated."""
    dsn = await _new_database(migrated=False)
    yield dsn
    await drop_database(PG_URL, dsn.rsplit("/", 1)[1])


@pytest_asyncio.fixture
async def dsn() -> AsyncIterator[str]:
    """A migrated database of its own."""
    dsn = await _new_database(migrated=True)
    yield dsn
    await drop_database(PG_URL, dsn.rsplit("/", 1)[1])


@pytest_asyncio.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn, min_size=2, max_size=20)
    yield pool
    try:
        await asyncio.wait_for(pool.close(), 10)
    except TimeoutError:
        pool.terminate()


@pytest.fixture
def store() -> EventStore:
    return EventStore(PRODUCER)


@pytest_asyncio.fixture
async def bound_queue(vhost: Vhost) -> AsyncIterator[str]:
    """A durable queue bound to every ``libtest.*`` event on ``eseal.events``."""
    name = unique("lib_relay")
    connection = await aio_pika.connect(vhost.url)
    try:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(name, durable=True)
        await queue.bind(exchange, routing_key=f"{PRODUCER}.#")
    finally:
        await connection.close()
    yield name
    connection = await aio_pika.connect(vhost.url)
    try:
        channel = await connection.channel()
        await channel.queue_delete(name)
    finally:
        await connection.close()
