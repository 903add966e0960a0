"""The gateway is not ready, and lets no token through, before it has loaded identity's
revocation list; a failed load is retried until it succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings

from shared.revocations import RevocationFeed
from tests.support.tokens import TestSigner


class Identity:
    """Keys always; the revocation list only once ``up`` (identity starting, or failing)."""

    def __init__(self) -> None:
        self.signer = TestSigner()
        self.up = False
        self.items: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()

        async def jwks(_: web.Request) -> web.Response:
            return web.json_response(self.signer.jwks())

        async def revocations(_: web.Request) -> web.Response:
            if not self.up:
                return web.json_response({"status": 503, "code": "database_unavailable"}, status=503)
            return web.json_response({"items": self.items, "access_token_ttl_seconds": 900})

        app.router.add_get("/internal/jwks", jwks)
        app.router.add_get("/internal/revocations", revocations)
        return app


@pytest_asyncio.fixture
async def setup(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Identity, str, str]]:
    monkeypatch.setattr(RevocationFeed, "retry_initial", 0.05)
    monkeypatch.setattr(RevocationFeed, "retry_max", 0.1)
    identity = Identity()
    id_server = TestServer(identity.app(), host="127.0.0.1")
    await id_server.start_server()
    upstream = web.Application()

    async def agents(_: web.Request) -> web.Response:
        return web.json_response({"items": []})

    upstream.router.add_get("/api/v1/agents", agents)
    up = TestServer(upstream, host="127.0.0.1")
    await up.start_server()
    settings = GatewaySettings(env="test", identity_url=f"http://127.0.0.1:{id_server.port}",
                               identity_internal_url=f"http://127.0.0.1:{id_server.port}",
                               agents_url=f"http://127.0.0.1:{up.port}")
    gw = TestServer(create_gateway(settings), host="127.0.0.1")
    await gw.start_server()
    _, token = identity.signer.enterprise()
    yield identity, f"http://127.0.0.1:{gw.port}", token
    await gw.close()
    await up.close()
    await id_server.close()


async def get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_not_ready_and_no_token_through_until_the_list_is_loaded(
        setup: tuple[Identity, str, str]) -> None:
    identity, gateway, token = setup
    status, body = await get(gateway + "/readyz")
    assert status == 503 and body["failing"] == ["revocations"], body
    status, body = await get(gateway + "/api/v1/agents", token)
    assert (status, body["code"]) == (503, "revocations_unavailable"), body
    await asyncio.sleep(0.3)
    assert (await get(gateway + "/readyz"))[0] == 503  # still failing: still not ready

    principal, revoked_token = identity.signer.enterprise()
    identity.items = [{"principal_id": str(principal.id), "revoked_before": datetime.now(UTC).isoformat(),
                       "reason": "logout", "session_id": principal.session_id}]
    identity.up = True  # the retries pick it up
    for _ in range(100):
        if (await get(gateway + "/readyz"))[0] == 200:
            break
        await asyncio.sleep(0.05)
    assert (await get(gateway + "/readyz"))[0] == 200
    assert (await get(gateway + "/api/v1/agents", token))[0] == 200
    status, body = await get(gateway + "/api/v1/agents", revoked_token)
    assert (status, body["code"]) == (401, "token_revoked"), body
