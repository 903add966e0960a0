"""Replicas of a service: round-robin, ejection, and the retry rule, against real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.errors import ServiceUnavailable
from shared.internal import ServiceClient
from shared.upstreams import Replicas, may_retry, not_sent, split_urls, with_path

SECRET = "s" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused


@dataclass
class Replica:
    """A replica that answers (and counts what it got)."""

    server: TestServer
    seen: list[str] = field(default_factory=list)
    ready: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


async def start_replica(name: str) -> Replica:
    app = web.Application()
    replica = Replica(TestServer(app, host="127.0.0.1"))

    async def anything(request: web.Request) -> web.Response:
        body = await request.read()
        replica.seen.append(f"{request.method} {request.path} {len(body)}")
        return web.json_response({"replica": name, "len": len(body)})

    async def readyz(request: web.Request) -> web.Response:
        return web.json_response({}, status=200 if replica.ready else 503)

    app.router.add_get("/readyz", readyz)
    app.router.add_route("*", "/{tail:.*}", anything)
    await replica.server.start_server()
    return replica


@dataclass
class Hangup:
    """A replica that accepts the connection, reads the request, and closes without answering
    (a process killed mid-request): the request arrived, no answer did."""

    port: int
    requests: int = 0
    server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_hangup() -> Hangup:
    h = Hangup(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        h.requests += 1
        writer.transport.abort()  # reset, no response byte

    h.server = await asyncio.start_server(handle, "127.0.0.1", 0)
    h.port = h.server.sockets[0].getsockname()[1]
    return h


@pytest.fixture
async def two() -> AsyncIterator[tuple[Replica, Replica]]:
    a, b = await start_replica("a"), await start_replica("b")
    yield a, b
    await a.server.close()
    await b.server.close()


def client(session: aiohttp.ClientSession, urls: str | Replicas) -> ServiceClient:
    return ServiceClient(session, urls, source="seals", target="identity", secret=SECRET, timeout=5)


# the list and the rotation ----------------------------------------------------------------

def test_a_list_is_split_trimmed_and_paths_appended() -> None:
    assert split_urls(" http://a:1/ , http://b:2") == ["http://a:1", "http://b:2"]
    assert with_path("http://a:1,http://b:2", "/internal/jwks") == \
        "http://a:1/internal/jwks,http://b:2/internal/jwks"
    with pytest.raises(ValueError):
        split_urls(" , ")
    with pytest.raises(ValueError, match="2 URLs but 1 internal"):
        Replicas("http://a,http://b", health_urls=["http://a:9"])


def test_round_robin_skips_ejected_replicas_until_their_time_is_up() -> None:
    now = [0.0]
    r = Replicas("http://a,http://b,http://c", eject_seconds=5, clock=lambda: now[0])
    firsts = [r.order()[0] for _ in range(6)]
    assert firsts == ["http://a", "http://b", "http://c"] * 2
    r.failed("http://b")
    assert all("http://b" not in r.order() for _ in range(3))
    assert r.ejected() == ["http://b"]
    now[0] = 5.0
    assert r.ejected() == [] and sorted(r.order()) == ["http://a", "http://b", "http://c"]


def test_active_checks_eject_until_ready_again_and_all_out_means_none() -> None:
    r = Replicas("http://a,http://b", health_urls=["http://a:9", "http://b:9"])
    assert not r.seen_ready  # the gateway is not ready before a check found one
    r.checked(0, False)
    r.checked(1, False)
    assert r.order() == [] and not r.seen_ready  # the caller answers 503 at once
    r.checked(1, True)
    assert r.order() == ["http://b"] and r.seen_ready
    r.checked(1, False)
    assert r.seen_ready  # once seen, readiness of the gateway no longer depends on it


def test_without_checks_all_passively_ejected_are_still_tried() -> None:
    r = Replicas("http://a,http://b")
    assert r.seen_ready
    r.failed("http://a")
    r.failed("http://b")
    assert sorted(r.order()) == ["http://a", "http://b"]  # a guess, not knowledge


def test_with_checks_replicas_only_a_failed_call_left_out_are_the_last_resort() -> None:
    """A connect that timed out on a loaded machine is no proof: the gateway still tries the
    replicas its checks found ready, rather than answering 503 for a guess."""
    now = [0.0]
    r = Replicas("http://a,http://b", health_urls=["http://a:9", "http://b:9"],
                 eject_seconds=5, clock=lambda: now[0])
    r.checked(0, True)
    r.checked(1, True)
    r.failed("http://a")
    assert r.order() == ["http://b"]  # the healthy one only, while there is one
    r.failed("http://b")
    assert sorted(r.order()) == ["http://a", "http://b"]
    r.checked(0, False)  # a check found a not ready: that is knowledge
    assert r.order() == ["http://b"]
    r.checked(1, False)
    assert r.order() == []


def test_a_single_replica_is_never_ejected() -> None:
    r = Replicas("http://only")
    r.failed("http://only")
    r.checked(0, False)
    assert r.order() == ["http://only"]


# the retry rule, on real failures --------------------------------------------------------

async def test_refused_is_not_sent_and_any_method_may_retry(session: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.ClientError) as refused:
        await session.post(dead_url() + "/x", json={})
    assert not_sent(refused.value)
    assert may_retry("POST", refused.value) and may_retry("GET", refused.value)


async def test_a_hangup_after_the_request_retries_only_idempotent_methods(
        session: aiohttp.ClientSession) -> None:
    h = await start_hangup()
    try:
        with pytest.raises(aiohttp.ClientError) as broke:
            await session.post(h.url + "/x", json={"a": 1})
        assert h.requests == 1 and not not_sent(broke.value)
        assert not may_retry("POST", broke.value)
        assert may_retry("PUT", broke.value) and may_retry("GET", broke.value)
        assert not may_retry("PUT", broke.value, replayable_body=False)
        assert not may_retry("GET", TimeoutError())  # slow is not down
    finally:
        assert h.server is not None
        h.server.close()


# the service client over replicas -----------------------------------------------------------

async def test_calls_are_spread_and_a_dead_replica_is_skipped(
        session: aiohttp.ClientSession, two: tuple[Replica, Replica]) -> None:
    a, b = two
    c = client(session, f"{a.url},{dead_url()},{b.url}")
    answers = [(await c.get("/internal/x"))["replica"] for _ in range(6)]
    assert set(answers) == {"a", "b"} and len(a.seen) + len(b.seen) == 6
    assert len(c.replicas.ejected()) == 1  # passively, after the first refusal


async def test_a_post_is_retried_when_refused_since_it_was_never_sent(
        session: aiohttp.ClientSession, two: tuple[Replica, Replica]) -> None:
    a, _ = two
    c = client(session, Replicas([dead_url(), a.url]))
    for _ in range(2):  # whichever replica the cursor starts at
        assert (await c.post("/internal/x", json={"k": "v"}))["replica"] == "a"
    assert a.seen == ["POST /internal/x 10"] * 2


async def test_a_post_that_may_have_arrived_is_not_sent_again(
        session: aiohttp.ClientSession, two: tuple[Replica, Replica]) -> None:
    a, _ = two
    h = await start_hangup()
    try:
        c = client(session, Replicas([h.url, a.url]))
        outcomes = []
        for _ in range(2):  # the cursor starts once at each
            try:
                outcomes.append((await c.post("/internal/x", json={}))["replica"])
            except ServiceUnavailable:
                outcomes.append("503")
        assert sorted(outcomes) == ["503", "a"]
        assert h.requests == 1 and a.seen == ["POST /internal/x 2"]  # never twice
        # an idempotent call that met the hang-up goes on to the other replica
        c2 = client(session, Replicas([h.url, a.url]))
        for _ in range(2):
            assert (await c2.put("/internal/y", json={}))["replica"] == "a"
    finally:
        assert h.server is not None
        h.server.close()


async def test_no_replica_reachable_is_service_unavailable(session: aiohttp.ClientSession) -> None:
    c = client(session, f"{dead_url()},{dead_url()}")
    with pytest.raises(ServiceUnavailable):
        await c.get("/internal/x")
    assert len(c.replicas.ejected()) == 2
    with pytest.raises(ServiceUnavailable):  # tried again anyway: still refused
        await c.get("/internal/x")


async def test_active_checks_follow_readyz(session: aiohttp.ClientSession,
                                           two: tuple[Replica, Replica]) -> None:
    a, b = two
    r = Replicas([a.url, b.url], health_urls=[a.url, b.url])
    b.ready = False
    await r.check_all(session)
    assert r.ejected() == [b.url]
    b.ready = True
    await r.check_all(session)
    assert r.ejected() == []
