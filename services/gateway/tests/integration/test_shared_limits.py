"""Rate limits hold across gateway replicas when they share Redis (``ESEAL_REDIS_URL``), and
a replica whose Redis is gone keeps limiting on its own instead of failing or opening up."""

from __future__ import annotations

import socket
import uuid

import redis.asyncio as aioredis
import test_one_door
from test_one_door import StartGateway, assert_problem, basic

start_gateway = test_one_door.start_gateway  # the fixture: a gateway before a recording upstream

REDIS = "redis://127.0.0.1:6379/0"


async def _token(gw, i: int):  # type: ignore[no-untyped-def]
    return await gw.get("/api/v1/oauth/token", [basic(f"client-{i}")], method="POST")


async def test_two_replicas_share_one_budget(start_gateway: StartGateway) -> None:
    prefix = f"eseal:test:{uuid.uuid4().hex}:"
    a = await start_gateway(redis_url=REDIS, redis_key_prefix=prefix)
    b = await start_gateway(redis_url=REDIS, redis_key_prefix=prefix)
    try:
        statuses = [(await _token(a if i % 2 else b, i)).status for i in range(20)]
        assert statuses == [200] * 20
        # 10 went through each replica: in memory each would still allow 10 more
        assert_problem(await _token(a, 99), 429, "rate_limited")
        assert_problem(await _token(b, 98), 429, "rate_limited")
    finally:
        r = aioredis.from_url(REDIS)
        keys = [k async for k in r.scan_iter(match=prefix + "*")]
        assert keys, "the buckets live in Redis"
        await r.delete(*keys)
        await r.aclose()


async def test_without_redis_each_replica_has_its_own_budget(start_gateway: StartGateway) -> None:
    a, b = await start_gateway(), await start_gateway()
    assert [(await _token(a if i % 2 else b, i)).status for i in range(22)] == [200] * 22


async def test_an_unreachable_redis_falls_back_to_local_limits(start_gateway: StartGateway) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens once closed
    gw = await start_gateway(redis_url=f"redis://127.0.0.1:{dead}/0")
    statuses = [(await _token(gw, i)).status for i in range(21)]
    assert statuses[:20] == [200] * 20  # never a 500
    assert statuses[20] == 429
