"""The gateway serves the web build: SPA fallback, cache headers, redirects, a clear 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from gateway.static import IMMUTABLE, setup_static
from multidict import CIMultiDict
from yarl import URL

from shared.http import create_app


def build(root: Path) -> Path:
    dist = root / "dist"
    for page in ("app", "demo", "verify"):
        (dist / page).mkdir(parents=True)
        (dist / page / "index.html").write_text(f"<!doctype html><title>{page}</title>")
    (dist / "assets").mkdir()
    (dist / "assets" / "app-1a2b3c.js").write_text("console.log('app')")
    (dist / "secret.txt").write_text("outside the pages")
    return dist


class Site:
    """The static routes on a bare platform app, and a client that does not follow redirects."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession()
        self.servers: list[TestServer] = []
        self.base = ""

    async def start(self, dist: Path) -> None:
        app = create_app()
        setup_static(app, dist)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        self.base = f"http://127.0.0.1:{server.port}"

    async def get(self, path: str) -> tuple[int, CIMultiDict[str], bytes]:
        async with self.session.get(self.base + path, allow_redirects=False) as r:
            return r.status, CIMultiDict(r.headers), await r.read()

    async def close(self) -> None:
        await self.session.close()
        for s in self.servers:
            await s.close()


@pytest_asyncio.fixture
async def site() -> AsyncIterator[Site]:
    s = Site()
    yield s
    await s.close()


async def test_root_redirects_to_the_app(site: Site, tmp_path: Path) -> None:
    await site.start(build(tmp_path))
    status, headers, _ = await site.get("/")
    assert status == 302 and headers["Location"] == "/app/"
    status, headers, _ = await site.get("/demo?client_id=x")
    assert status == 302 and headers["Location"] == "/demo/?client_id=x"


@pytest.mark.parametrize("path", ["/app/", "/app/seals/123/grants", "/verify/", "/demo/anything"])
async def test_pages_and_client_routes_get_their_index_uncached(site: Site, tmp_path: Path,
                                                                 path: str) -> None:
    await site.start(build(tmp_path))
    status, headers, body = await site.get(path)
    assert status == 200
    assert f"<title>{path.split('/')[1]}</title>".encode() in body
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers.get("ETag")


async def test_hashed_assets_are_cached_for_a_year(site: Site, tmp_path: Path) -> None:
    await site.start(build(tmp_path))
    status, headers, body = await site.get("/assets/app-1a2b3c.js")
    assert status == 200 and body == b"console.log('app')"
    assert headers["Cache-Control"] == IMMUTABLE
    assert "javascript" in headers["Content-Type"]


@pytest.mark.parametrize("path", ["/assets/missing.js", "/app/missing.js"])
async def test_missing_files_are_404_problems(site: Site, tmp_path: Path, path: str) -> None:
    await site.start(build(tmp_path))
    status, headers, body = await site.get(path)
    assert status == 404, body
    assert b"outside the pages" not in body


@pytest.mark.parametrize("path", ["/app/../secret.txt", "/app/%2e%2e/secret.txt",
                                  "/assets/..%2fsecret.txt", "/app/..%5csecret.txt"])
async def test_escapes_sent_as_written_are_400_invalid_path(site: Site, tmp_path: Path, path: str) -> None:
    await site.start(build(tmp_path))
    async with site.session.get(URL(site.base + path, encoded=True), allow_redirects=False) as r:
        body = await r.read()
        assert r.status == 400, body
        assert b"invalid_path" in body and b"outside the pages" not in body


async def test_a_missing_build_is_a_503_saying_how_to_build(site: Site, tmp_path: Path) -> None:
    await site.start(tmp_path / "no-dist")
    status, headers, body = await site.get("/app/")
    assert status == 503
    assert headers["Content-Type"].startswith("application/problem+json")
    assert b"web_not_built" in body and b"make web" in body
