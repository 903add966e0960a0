"""identity's event consumer never takes a second pooled connection while it holds one.

A handler that did (``AgentRemoved`` once opened its own transaction inside the consumer's)
deadlocks as soon as every connection of the pool is held by a handler waiting for another:
with a replica killed, its survivor took all the load and hung. Here the pool has two
connections and more removals arrive at once than it has: all must be handled.
Real identity in-process, its own database and vhost.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from aiohttp.test_utils import TestServer
from identity.bootstrap import MIGRATIONS, IdentitySettings, create_app

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.catalog import AgentRemoved
from shared.service import prepare_database
from tests.support.bus import connect_bus
from tests.support.polling import eventually

REMOVALS = 12  # well above the pool's two connections and below the consumer's prefetch


@pytest_asyncio.fixture
async def identity() -> AsyncIterator[IdentitySettings]:
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_idpool_{run}", f"eseal_ip{run}_"
    ensure_vhost(vhost)
    settings = IdentitySettings(env="test", db_prefix=prefix, db_pool_min=1,  # type: ignore[arg-type]
                                db_pool_max=2, amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                                test_fast_kdf=True)
    await prepare_database(settings, MIGRATIONS)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield settings
    finally:
        await server.close()
        await drop_databases(prefix)
        delete_vhost(vhost)


async def test_more_concurrent_removals_than_connections_are_all_handled(
        identity: IdentitySettings) -> None:
    async with connect_bus(identity.amqp_url) as bus:
        for _ in range(REMOVALS):
            await bus.publish(AgentRemoved(agent_id=uuid.uuid4(), enterprise_id=uuid.uuid4(),
                                           removed_by=uuid.uuid4()), stream_id=uuid.uuid4())

    async def handled() -> bool:
        conn = await asyncpg.connect(identity.database_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM processed_events") == REMOVALS
        finally:
            await conn.close()

    await eventually(handled, within=30, every=0.3, what="every AgentRemoved handled")
