"""The one path check: every ambiguous spelling is refused, every plain one passes as decoded."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from shared.errors import EsealError
from shared.http import create_app, json_response
from shared.paths import check_path

REFUSED = [
    "/api/v1/persons/../../internal/jwks",
    "/api/v1/persons/%2e%2e/%2e%2e/%2e%2e/internal/jwks",
    "/api/v1/persons/%2E%2E/internal/jwks",
    "/api/v1/persons/.%2e/internal/jwks",
    "/api/v1/persons/%2e./internal/jwks",
    "/api/v1/persons/./x",
    "/api/v1/persons/%2e/x",
    "/api/v1/persons/..",
    "/api/v1/persons/..;/internal/jwks",
    "/api/v1/persons%2f..%2f..%2finternal/jwks",
    "/api/v1/persons/a%2Fb",
    "/api/v1/persons/a%5cb",
    "/api/v1/persons/a\\b",
    "/api/v1/persons/..%5c..%5cinternal",
    "/api/v1/persons/a%00b",
    "/api/v1/persons/%252e%252e/internal",
    "/api/v1/persons/%25%32%65%25%32%65/internal",  # '%2e%2e' after one decoding
    "/api/v1/persons/%ff%fe",
    "/api/v1/persons/%c0%ae%c0%ae/internal",  # overlong UTF-8 for '.'
    "/api/v1/persons/%e4%b8",  # truncated UTF-8
    "/api/v1/persons/%zz",
    "/api/v1/persons/100%",
    "/api/v1//persons",
    "//evil.example/api/v1/persons",
    "/api/v1/persons/%0d%0aX-Injected:1",
    "http://evil.example/api/v1/persons",
    "*",
    "/api/v1/persons#frag",
]

ACCEPTED = {
    "/": "/",
    "/api/v1/persons": "/api/v1/persons",
    "/api/v1/seals/": "/api/v1/seals/",
    "/api/v1/support/%E4%B8%AD%E6%96%87%20x": "/api/v1/support/中文 x",
    "/api/v1/seals?name=%E5%85%AC%E7%AB%A0&q=a%20b": "/api/v1/seals",
    "/api/v1/ca/root.pem": "/api/v1/ca/root.pem",
    "/api/v1/x/..a/a..": "/api/v1/x/..a/a..",
    "/api/v1/x?path=../../internal": "/api/v1/x",  # attack input (query: the service's)
    "/api/v1/.well-known/jwks.json": "/api/v1/.well-known/jwks.json",
}


@pytest.mark.parametrize("raw", REFUSED)
def test_ambiguous_paths_are_refused_with_invalid_path(raw: str) -> None:
    with pytest.raises(EsealError) as caught:
        check_path(raw)
    assert caught.value.status == 400 and caught.value.code == "invalid_path"


@pytest.mark.parametrize(("raw", "decoded"), sorted(ACCEPTED.items()))
def test_plain_paths_pass_decoded(raw: str, decoded: str) -> None:
    assert check_path(raw) == decoded


async def test_every_service_app_refuses_a_traversal_before_routing() -> None:
    app = create_app()

    async def secret(_: web.Request) -> web.Response:
        return json_response({"keys": "internal"})

    app.router.add_get("/internal/jwks", secret)
    app.router.add_get("/api/v1/x/{tail:.*}", secret)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as s:
            # encoded=True: the client sends the path as written, dot segments unresolved.
            for raw in ("/api/v1/x/%2e%2e/internal/jwks", "/api/v1/x/%2e%2e/%2e%2e/internal/jwks",
                        "/api/v1/x/..%2finternal/jwks", "/api/v1/x/../../internal/jwks"):
                async with s.get(URL(base + raw, encoded=True)) as r:
                    assert r.status == 400, raw
                    assert r.content_type == "application/problem+json"
                    assert (await r.json())["code"] == "invalid_path"
            async with s.get(URL(base + "/api/v1/x/%E4%B8%AD", encoded=True)) as ok:
                assert ok.status == 200
    finally:
        await server.close()
