"""The gateway balances each service's replicas (fake upstreams; real RabbitMQ for its feed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from gateway.proxy import UPSTREAMS

from shared.tests.test_upstreams import dead_url, start_hangup, start_replica
from tests.support.polling import eventually


@asynccontextmanager
async def gateway(**urls: object) -> AsyncIterator[tuple[str, TestServer]]:
    given = {"upstream_check_interval": 0.2, **urls}
    settings = GatewaySettings(max_body_bytes=64 * 1024, identity_url=dead_url(),
                               identity_internal_url=dead_url(), **given)
    server = TestServer(create_gateway(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}", server
    finally:
        await server.close()


async def test_requests_go_round_robin_and_skip_a_dead_replica() -> None:
    a, b = await start_replica("a"), await start_replica("b")
    dead = dead_url()
    try:
        async with gateway(notify_url=f"{a.url},{dead},{b.url}",
                           notify_internal_url=f"{a.url},{dead},{b.url}") as (gw, _), \
                aiohttp.ClientSession() as s:
            replicas = []
            for _ in range(8):
                async with s.get(gw + "/api/v1/support/faq") as r:
                    assert r.status == 200
                    replicas.append((await r.json())["replica"])
            assert replicas.count("a") >= 3 and replicas.count("b") >= 3
    finally:
        await a.server.close()
        await b.server.close()


async def test_a_streamed_post_refused_by_one_replica_reaches_another_whole() -> None:
    a = await start_replica("a")
    dead = dead_url()
    try:
        async with gateway(stamping_url=f"{dead},{a.url}",
                           stamping_internal_url=f"{dead},{a.url}") as (gw, _), \
                aiohttp.ClientSession() as s:
            document = b"%PDF-" + bytes(range(256)) * 100
            for _ in range(2):  # the cursor starts once at the dead one
                async with s.post(gw + "/api/v1/verifications", data=document,
                                  headers={"Content-Type": "application/pdf"}) as r:
                    assert r.status == 200
                    assert (await r.json()) == {"replica": "a", "len": len(document)}
            assert a.seen == [f"POST /api/v1/verifications {len(document)}"] * 2
    finally:
        await a.server.close()


async def test_a_post_that_reached_a_dying_replica_is_not_sent_again_but_a_get_is() -> None:
    a, h = await start_replica("a"), await start_hangup()
    try:
        async with gateway(stamping_url=f"{h.url},{a.url}",
                           stamping_internal_url=f"{a.url},{a.url}",  # checks: both look ready
                           upstream_check_interval=60) as (gw, server), \
                aiohttp.ClientSession() as s:
            statuses = []
            for _ in range(2):
                async with s.post(gw + "/api/v1/verifications", data=b"x" * 10) as r:
                    statuses.append(r.status)
                    if r.status == 503:
                        body = await r.json()
                        assert body["code"] == "service_unavailable"
                        assert body["service"] == "stamping"
            assert sorted(statuses) == [200, 503] and h.requests == 1
            assert a.seen == ["POST /api/v1/verifications 10"]
            server.app[UPSTREAMS]["stamping"].checked(0, True)  # back in the rotation
            for _ in range(2):  # GET is idempotent: it moves on to the next replica
                async with s.get(gw + "/api/v1/verifications/x") as r:
                    assert r.status == 200
            assert h.requests >= 2  # (aiohttp itself may retry an idempotent call once)
    finally:
        await a.server.close()
        assert h.server is not None
        h.server.close()


async def test_a_replica_failing_its_readiness_check_gets_no_traffic_and_none_is_503() -> None:
    a, b = await start_replica("a"), await start_replica("b")
    try:
        async with gateway(notify_url=f"{a.url},{b.url}",
                           notify_internal_url=f"{a.url},{b.url}") as (gw, server), \
                aiohttp.ClientSession() as s:
            replicas = server.app[UPSTREAMS]["notify"]
            b.ready = False
            await eventually(lambda: replicas.ejected() == [b.url], 5, what="b ejected")
            before = len(b.seen)
            for _ in range(4):
                async with s.get(gw + "/api/v1/support/faq") as r:
                    assert (await r.json())["replica"] == "a"
            assert len(b.seen) == before
            a.ready = False
            await eventually(lambda: len(replicas.ejected()) == 2, 5, what="both ejected")
            async with s.get(gw + "/api/v1/support/faq") as r:
                assert r.status == 503 and r.content_type == "application/problem+json"
                assert (await r.json())["code"] == "service_unavailable"
            assert len(a.seen) == 4
            b.ready = True
            await eventually(lambda: replicas.ejected() == [a.url], 5, what="only a ejected")
            async with s.get(gw + "/api/v1/support/faq") as r:
                assert (await r.json())["replica"] == "b"
    finally:
        await a.server.close()
        await b.server.close()


async def test_a_single_replica_is_always_tried() -> None:
    a = await start_replica("a")
    try:
        async with gateway(notify_url=a.url, notify_internal_url=dead_url()) as (gw, _), \
                aiohttp.ClientSession() as s:
            await asyncio.sleep(0.5)  # checks would fail: with one replica there are none
            async with s.get(gw + "/api/v1/support/faq") as r:
                assert r.status == 200
    finally:
        await a.server.close()


async def test_the_gateway_is_not_ready_before_it_saw_a_replica_of_each_service_ready() -> None:
    a, b = await start_replica("a"), await start_replica("b")
    a.ready = b.ready = False
    try:
        async with gateway(notify_url=f"{a.url},{b.url}",
                           notify_internal_url=f"{a.url},{b.url}") as (gw, server), \
                aiohttp.ClientSession() as s:
            async def failing() -> list[str]:
                async with s.get(gw + "/readyz") as r:
                    return [] if r.status == 200 else list((await r.json())["failing"])

            await asyncio.sleep(0.5)  # checks ran: nothing ready yet
            assert "upstreams" in await failing()
            b.ready = True
            await eventually(lambda: server.app[UPSTREAMS]["notify"].seen_ready, 5,
                             what="a notify replica seen ready")
            assert "upstreams" not in await failing()  # (identity is dead: revocations fail)
    finally:
        await a.server.close()
        await b.server.close()
