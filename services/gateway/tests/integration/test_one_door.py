"""The gateway is the only door: what it routes is what the service gets.

A started gateway in front of a fake upstream (standing in for every service) that records
the raw request target and headers it received. Requests are written byte for byte
(``rawhttp``): a real client would normalise the very spellings under test.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import pytest_asyncio
import rawhttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ec
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from gateway.proxy import GW_VERIFIER, REVOCATIONS

from shared.auth import ALGORITHM, AUDIENCE, ISSUER, jwk_json
from shared.catalog import SessionsRevoked

KID = "one-door-test"
KEY = ec.generate_private_key(ec.SECP256R1())


@dataclass
class Seen:
    method: str
    target: str  # the raw request target, as the upstream's socket received it
    headers: list[tuple[str, str]]

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Upstream:
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.raw_path.startswith("/internal/"):  # the gateway's own calls to identity
            return web.json_response({"items": [], "keys": []})
        self.seen.append(Seen(request.method, request.raw_path, list(request.headers.items())))
        await request.read()
        return web.json_response({"ok": True})


@dataclass
class Gateway:
    port: int
    app: web.Application
    upstream: Upstream

    async def send(self, raw: bytes) -> rawhttp.RawResponse:
        return await rawhttp.send(self.port, raw)

    async def get(self, target: str, headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
                  method: str = "GET") -> rawhttp.RawResponse:
        return await self.send(rawhttp.build(method, target, headers))


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest_asyncio.fixture
async def start_gateway() -> AsyncIterator[StartGateway]:
    servers: list[TestServer] = []
    upstream = Upstream()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream.handle)
    up = TestServer(app, host="127.0.0.1")
    await up.start_server()
    servers.append(up)
    url = f"http://127.0.0.1:{up.port}"

    async def start(**settings: Any) -> Gateway:
        names = ("identity", "agents", "certs", "seals", "stamping", "notify")
        # Public and internal listeners of every service: the one recording upstream.
        urls = {f"{s}{kind}_url": url for s in names for kind in ("", "_internal")}
        gw = TestServer(create_gateway(GatewaySettings(**urls, **settings)), host="127.0.0.1")
        await gw.start_server()
        servers.append(gw)
        gw.app[GW_VERIFIER].add_jwk(jwk_json(KEY.public_key(), KID))
        return Gateway(gw.port, gw.app, upstream)  # type: ignore[arg-type]

    yield start
    for server in reversed(servers):
        await server.close()


def token(session_id: str = "s1", principal: uuid.UUID | None = None) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(principal or uuid.uuid4()),
              "role": "person", "name": "张三", "sid": session_id, "typ": "access",
              "iat": now, "iat_ms": now * 1000, "exp": now + 600}
    return jwt.encode(claims, KEY, algorithm=ALGORITHM, headers={"kid": KID})


def assert_problem(r: rawhttp.RawResponse, status: int, code: str) -> None:
    assert r.status == status, r.body
    assert r.content_type == "application/problem+json", (r.headers, r.body)
    assert r.json()["code"] == code, r.body


# --- paths ---------------------------------------------------------------------------------

TRAVERSALS = [
    "/api/v1/persons/%2e%2e/%2e%2e/%2e%2e/internal/jwks",  # issue #11, as reported
    "/api/v1/support/%2e%2e/%2e%2e/%2e%2e/metrics",
    "/api/v1/persons/%2E%2E/%2E%2E/%2E%2E/internal/jwks",
    "/api/v1/persons/.%2e/.%2E/%2e./internal/jwks",
    "/api/v1/persons/../../../internal/jwks",
    "/api/v1/persons/./../../../internal/jwks",
    "/api/v1/persons/%2e/x",
    "/api/v1/persons/..;/..;/..;/internal/jwks",
    "/api/v1/persons/..%2f..%2f..%2finternal%2fjwks",
    "/api/v1/persons%2F..%2F..%2F..%2Finternal/jwks",
    "/api/v1/persons/..%5c..%5c..%5cinternal/jwks",
    "/api/v1/persons/..\\..\\..\\internal/jwks",
    "/api/v1/persons/%00/x",
    "/api/v1/persons/%252e%252e/%252e%252e/%252e%252e/internal/jwks",
    "/api/v1/persons/%25%32%65%25%32%65/internal/jwks",
    "/api/v1/persons/%c0%ae%c0%ae/%c0%ae%c0%ae/internal/jwks",
    "/api/v1/persons/%ff",
    "/api/v1/persons/%zz",
    "/api/v1//persons",
    "//api/v1/persons",
    "/api/v1/stamp-requests/%2e%2e/%2e%2e/%2e%2e/internal/seal-signatures",
    "/api/v1/oauth/token/%2e%2e/%2e%2e/%2e%2e/internal/jwks",
    "http://127.0.0.1/internal/jwks",
]


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_every_traversal_and_encoding_variant_is_400_and_never_forwarded(
        start_gateway: StartGateway, target: str) -> None:
    gw = await start_gateway()
    r = await gw.get(target, [("Authorization", f"Bearer {token()}")])
    assert_problem(r, 400, "invalid_path")
    assert gw.upstream.seen == []


LEGIT = [
    "/api/v1/support/%E4%B8%AD%E6%96%87%20x",
    "/api/v1/support/%e4%b8%ad?q=%E4%B8%AD%E6%96%87&a=b%20c",  # lower-case escapes kept as sent
    "/api/v1/support?name=%E5%85%AC%E7%AB%A0+x&path=..%2F..%2Finternal",  # the query is data
    "/api/v1/verifications?x=1&x=2",
    "/api/v1/support/..a/a..",
    "/api/v1/support/",
]


@pytest.mark.parametrize("target", LEGIT)
async def test_legit_encoded_paths_are_forwarded_byte_exact(start_gateway: StartGateway,
                                                            target: str) -> None:
    gw = await start_gateway()
    r = await gw.get(target)
    assert r.status == 200, r.body
    assert [s.target for s in gw.upstream.seen] == [target]


# --- Authorization -------------------------------------------------------------------------

async def test_two_authorization_headers_are_400_and_never_forwarded(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    basic = "Basic " + base64.b64encode(b"client:secret").decode()
    for path, values in (("/api/v1/seals", [f"Bearer {token()}", f"Bearer {token()}"]),
                         ("/api/v1/support", ["Bearer a", "Bearer b"]),
                         ("/api/v1/oauth/token", [basic, basic]),
                         ("/api/v1/stamp-requests", [f"Bearer {token()}", "Bearer client-token"])):
        r = await gw.get(path, [("Authorization", v) for v in values], method="POST")
        assert_problem(r, 400, "duplicate_authorization")
    assert gw.upstream.seen == []


async def test_a_revoked_token_is_not_revived_by_a_second_header(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    person = uuid.uuid4()
    revoked, fresh = token("revoked-session", person), token("other-session")
    gw.app[REVOCATIONS].add(SessionsRevoked(principal_id=person, revoked_before=_now(),
                                            reason="logout", session_id="revoked-session"))
    alone = await gw.get("/api/v1/seals", [("Authorization", f"Bearer {revoked}")])
    assert_problem(alone, 401, "token_revoked")
    for pair in ([revoked, fresh], [fresh, revoked]):
        r = await gw.get("/api/v1/seals", [("Authorization", f"Bearer {t}") for t in pair])
        assert_problem(r, 400, "duplicate_authorization")
    assert gw.upstream.seen == []


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_the_service_gets_exactly_the_checked_token_and_no_spoofable_headers(
        start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    checked = token()
    r = await gw.get("/api/v1/seals", [
        ("Authorization", f"Bearer {checked}"),
        ("Cookie", "session=stolen"),
        ("X-Forwarded-For", "10.9.9.9"), ("X-Forwarded-Host", "internal.example"),
        ("X-Forwarded-Proto", "https"), ("Forwarded", "for=10.9.9.9"), ("X-Real-IP", "10.9.9.9"),
        ("Proxy-Authorization", "Basic eDp5"), ("X-Request-ID", "trace-1"),
        ("X-Keep-Me", "yes"), ("X-Drop-Me", "no"), ("Connection", "X-Drop-Me"),
    ])
    assert r.status == 200, r.body
    [seen] = gw.upstream.seen
    assert seen.all("Authorization") == [f"Bearer {checked}"]
    assert seen.all("X-Forwarded-For") == ["127.0.0.1"]  # the socket peer, no trusted proxy
    assert seen.all("X-Request-ID") == ["trace-1"]
    assert seen.all("X-Keep-Me") == ["yes"]
    for name in ("Cookie", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP",
                 "Proxy-Authorization", "X-Drop-Me"):
        assert seen.all(name) == [], name


# --- framing -------------------------------------------------------------------------------

SMUGGLING = {
    "content-length and transfer-encoding": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"0\r\n\r\nGET /internal/jwks HTTP/1.1\r\nHost: x\r\n\r\n"),
    "two content-lengths": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
        b"Connection: close\r\n\r\nhello!"),
    "two equal content-lengths": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello"),
    "gzip, chunked": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
        b"Connection: close\r\n\r\n0\r\n\r\n"),
    "xchunked": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
        b"Connection: close\r\n\r\n0\r\n\r\n"),
    "two transfer-encodings": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Transfer-Encoding: identity\r\nConnection: close\r\n\r\n0\r\n\r\n"),
    "chunked in HTTP/1.0": (
        b"POST /api/v1/support HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n0\r\n\r\n"),
    "space before colon": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
        b"Connection: close\r\n\r\n0\r\n\r\n"),
    "obs-fold": (
        b"GET /api/v1/support HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\nConnection: close\r\n\r\n"),
    "folded transfer-encoding": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n"
        b"Connection: close\r\n\r\n0\r\n\r\n"),
    "signed content-length": (
        b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n"
        b"Connection: close\r\n\r\nhello"),
}


@pytest.mark.parametrize("shape", sorted(SMUGGLING))
async def test_smuggling_shapes_are_400_problem_and_never_forwarded(start_gateway: StartGateway,
                                                                    shape: str) -> None:
    gw = await start_gateway()
    r = await gw.send(SMUGGLING[shape])
    assert_problem(r, 400, "invalid_framing")
    assert gw.upstream.seen == []


async def test_a_plain_chunked_body_is_still_forwarded(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    r = await gw.send(b"POST /api/v1/support HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
                      b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert r.status == 200, r.body
    [seen] = gw.upstream.seen
    assert seen.all("Transfer-Encoding") in ([], ["chunked"])


# --- client address ------------------------------------------------------------------------

@pytest.mark.parametrize(("trusted", "forwarded", "client"), [
    (0, ["6.6.6.6"], "127.0.0.1"),  # no proxy trusted: the socket peer, whatever is claimed
    (1, [], "127.0.0.1"),
    (1, ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # the ingress appended 1.2.3.4; 6.6.6.6 is a claim
    (1, ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # the same, as two header lines
    (2, ["6.6.6.6, 1.2.3.4, 10.0.0.2"], "1.2.3.4"),  # load balancer, then the ingress
    (2, ["1.2.3.4"], "1.2.3.4"),  # fewer hops than proxies: the left-most
    (1, ["6.6.6.6, not-an-address"], "127.0.0.1"),  # garbage from the proxy: the proxy itself
])
async def test_the_client_is_the_right_most_untrusted_hop(start_gateway: StartGateway, trusted: int,
                                                          forwarded: list[str], client: str) -> None:
    gw = await start_gateway(trusted_proxies=trusted)
    r = await gw.get("/api/v1/support", [("X-Forwarded-For", v) for v in forwarded])
    assert r.status == 200, r.body
    [seen] = gw.upstream.seen
    assert seen.all("X-Forwarded-For") == [client]


async def test_claimed_addresses_do_not_escape_a_rate_limit(start_gateway: StartGateway) -> None:
    gw = await start_gateway(trusted_proxies=1)
    statuses = []
    for i in range(21):
        r = await gw.get("/api/v1/sessions", [("X-Forwarded-For", f"10.0.{i}.1, 1.2.3.4")],
                         method="POST")
        statuses.append(r.status)
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


# --- /oauth/token --------------------------------------------------------------------------

def basic(client_id: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{client_id}:wrong".encode()).decode())


async def test_token_requests_are_limited_per_address(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    statuses = [(await gw.get("/api/v1/oauth/token", [basic(f"client-{i}")], method="POST")).status
                for i in range(21)]
    assert statuses[:20] == [200] * 20
    last = await gw.get("/api/v1/oauth/token", [basic("client-x")], method="POST")
    assert_problem(last, 429, "rate_limited")
    assert int(last.header("Retry-After") or 0) >= 1
    assert last.json()["limit"] == "oauth_token"


async def test_token_requests_are_limited_per_client_id_from_any_address(
        start_gateway: StartGateway) -> None:
    gw = await start_gateway(trusted_proxies=1)
    statuses = []
    for i in range(21):
        r = await gw.get("/api/v1/oauth/token", [basic("victim"), ("X-Forwarded-For", f"10.1.{i}.1")],
                         method="POST")
        statuses.append(r.status)
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    other = await gw.get("/api/v1/oauth/token", [basic("someone-else"), ("X-Forwarded-For", "10.2.0.1")],
                         method="POST")
    assert other.status == 200
