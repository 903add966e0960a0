"""The public listener never serves /internal/* or /metrics; the internal one serves only those
and the probes. One application, two sockets (shared.listeners)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from shared import listeners
from shared.http import create_app


@dataclass
class Served:
    public: str
    internal: str
    http: aiohttp.ClientSession

    async def get(self, url: str) -> tuple[int, str, dict[str, object] | str]:
        # encoded=True: the path is sent exactly as written (no client-side normalisation)
        async with self.http.get(URL(url, encoded=True), allow_redirects=False) as r:
            if r.content_type.endswith("json"):
                return r.status, r.content_type, await r.json(content_type=None)
            return r.status, r.content_type, await r.text()


async def _ok(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _app() -> web.Application:
    app = create_app()
    app.router.add_get("/internal/secret", _ok)
    app.router.add_get("/api/v1/hello", _ok)
    return app


@pytest_asyncio.fixture
async def served() -> AsyncIterator[Served]:
    server = TestServer(_app(), host="127.0.0.1")
    await server.start_server()
    assert server.runner is not None
    internal = await listeners.add_internal_site(server.runner)
    async with aiohttp.ClientSession() as http:
        yield Served(f"http://127.0.0.1:{server.port}", internal, http)
    await server.close()


@pytest.mark.parametrize("path", [
    "/internal/secret", "/metrics", "/Internal/secret", "/INTERNAL/secret", "//internal/secret",
    "/internal//secret", "/%69nternal/secret", "/metrics/", "/METRICS", "/internal",
    "/internal/secret?x=1", "/api/%2e%2e/internal/secret", "/api/v1/../../internal/secret",
    "/api/./../metrics", "/%2e/internal/secret",
])
async def test_public_listener_answers_404_for_internal_paths(served: Served, path: str) -> None:
    status, ctype, body = await served.get(served.public + path)
    assert isinstance(body, dict), body
    # the path guard refuses dot segments first (400); the listener guard hides the rest (404)
    assert (status, body["code"]) in ((404, "not_found"), (400, "invalid_path")), (path, body)
    assert ctype == "application/problem+json"


async def test_public_listener_serves_the_api_and_the_probes(served: Served) -> None:
    for path in ("/api/v1/hello", "/healthz", "/readyz"):
        status, _, _ = await served.get(served.public + path)
        assert status == 200, path


async def test_internal_listener_serves_internal_metrics_and_probes(served: Served) -> None:
    status, _, body = await served.get(served.internal + "/internal/secret")
    assert status == 200 and body == {"ok": True}
    status, _, text = await served.get(served.internal + "/metrics")
    assert status == 200 and isinstance(text, str) and "python_info" in text
    for path in ("/healthz", "/readyz"):
        assert (await served.get(served.internal + path))[0] == 200


async def test_internal_listener_does_not_serve_the_public_api(served: Served) -> None:
    status, _, body = await served.get(served.internal + "/api/v1/hello")
    assert status == 404 and isinstance(body, dict) and body["code"] == "not_found"


async def test_an_unregistered_listener_is_public() -> None:
    """An app served on one socket only (no internal site) exposes nothing internal."""
    server = TestServer(_app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/internal/secret", "/metrics"):
                async with http.get(f"http://127.0.0.1:{server.port}{path}") as r:
                    assert r.status == 404, path
    finally:
        await server.close()


def test_internal_only_paths() -> None:
    assert listeners.internal_only("/internal/jwks")
    assert listeners.internal_only("///Internal")
    assert listeners.internal_only("/metrics")
    assert not listeners.internal_only("/metrics/extra")  # no such route: 404 anyway
    assert not listeners.internal_only("/api/v1/internal")
    assert not listeners.internal_only("/")
    assert not listeners.internal_only("/healthz")


def test_run_refuses_one_port_for_both_listeners() -> None:
    with pytest.raises(ValueError):
        listeners.run(_app(), host="127.0.0.1", public_port=18999, internal_port=18999)
