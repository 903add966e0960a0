"""Bounded work: hostile uploads get a 4xx problem document quickly, never a 500 or a stuck
worker, and password guessing on ``/oauth/token`` meets a rate limit.

Contract codes: 413 ``payload_too_large``, 422 ``too_many_signatures`` / ``too_many_pages`` /
``document_too_complex``, 429 ``rate_limited``.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from functools import cache

import aiohttp
import pytest
import pytest_asyncio
from gateway.limits import default_rules

from devstack.stack import ROOT
from tests.conftest import Platform
from tests.support import rawhttp
from tests.support.api import Api, Reply
from tests.support.malformed_pdfs import MALFORMED
from tests.support.polling import eventually

from .conftest import HOST, World

pytestmark = pytest.mark.e2e

QUICK = 30.0  # seconds: a refusal that takes longer holds a worker hostage
PDF_REFUSALS = {400, 413, 415, 422}


def is_problem(r: Reply) -> bool:
    return r.headers.get("Content-Type", "").startswith("application/problem+json") and bool(
        r.json and r.json.get("code")
    )


async def upload(
    api: Api, path: str, doc: bytes, token: str | None = None, **fields: str
) -> tuple[Reply, float]:
    form = aiohttp.FormData()
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("document", doc, filename="upload.pdf", content_type="application/pdf")
    started = time.monotonic()
    async with asyncio.timeout(QUICK + 30):
        r = await api.post(path, token=token, data=form)
    return r, time.monotonic() - started


async def verify(api: Api, doc: bytes) -> tuple[Reply, float]:
    return await upload(api, "/api/v1/verifications", doc)


async def stamp_request(api: Api, w: World, doc: bytes) -> tuple[Reply, float]:
    return await upload(
        api, "/api/v1/stamp-requests", doc, w.client.token, title="恶意文档", page="1", x="100", y="100"
    )


@cache
def malformed(name: str) -> bytes:
    return MALFORMED[name]()


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_pdfs_are_refused_quickly(api: Api, world: World, name: str) -> None:
    doc = malformed(name)
    for what, (r, took) in (
        ("verification", await verify(api, doc)),
        ("stamp request", await stamp_request(api, world, doc)),
    ):
        assert r.status < 500, (what, r)
        assert took < QUICK, f"{what} of {name} took {took:.1f}s"
        if r.status >= 400:
            assert r.status in PDF_REFUSALS and is_problem(r), (what, r)
        elif what == "verification":  # it may judge a readable-but-broken document "failed"
            assert r.json["result"] == "failed", (what, r)
        # A stamp request may accept a document it could read (its bombs lie in objects the
        # request never opens); stamping it is bounded by the stamping job's own limits.


async def test_thousands_of_signature_fields_are_capped(api: Api) -> None:
    from tests.support.hostile_pdfs import many_signature_fields_pdf  # i11-verify's builder

    r, took = await verify(api, many_signature_fields_pdf(3000))
    assert (r.status, r.json and r.json.get("code")) == (422, "too_many_signatures"), r
    assert took < QUICK, f"refusing took {took:.1f}s"


async def test_too_many_pages_are_capped(api: Api, world: World) -> None:
    from tests.support.hostile_pdfs import many_pages_pdf  # i11-verify's builder

    doc = many_pages_pdf(20_000)
    for what, (r, took) in (
        ("verification", await verify(api, doc)),
        ("stamp request", await stamp_request(api, world, doc)),
    ):
        assert r.status in (413, 422) and is_problem(r), (what, r)
        assert r.json["code"] in ("too_many_pages", "document_too_complex", "payload_too_large"), (what, r)
        assert took < QUICK, f"{what} took {took:.1f}s"


@pytest.mark.parametrize("path", ["/api/v1/verifications", "/api/v1/stamp-requests"])
async def test_an_oversized_upload_is_413(api: Api, world: World, path: str) -> None:
    doc = b"%PDF-1.7\n%" + b"0" * (30 * 1024 * 1024)
    token = world.client.token if path.endswith("stamp-requests") else None
    r, _ = await upload(api, path, doc, token, title="大文件", page="1", x="100", y="100")
    assert (r.status, r.json and r.json.get("code")) == (413, "payload_too_large"), r


async def test_a_huge_declared_length_is_refused_before_the_body(platform: Platform) -> None:
    """A Content-Length of 10 GB with a trickle of body: refused at once, not waited for."""
    port = platform.config.port("gateway")
    head = (
        f"POST /api/v1/verifications HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Content-Type: application/pdf\r\nContent-Length: 10737418240\r\n\r\n%PDF-1.7\n"
    ).encode()
    started = time.monotonic()
    replies = await rawhttp.exchange(HOST, port, head, quiet_after=10.0, first_only=True)
    assert replies and replies[0].status == 413, replies
    assert replies[0].code == "payload_too_large", replies
    assert time.monotonic() - started < 10


@pytest_asyncio.fixture
async def production_rate_gateway(platform: Platform) -> AsyncIterator[str]:
    """A second gateway in front of the same services, with the production rate limits
    (the session's gateway runs with ``ESEAL_RATE_LIMIT_SCALE`` raised for the other tests)."""
    env = platform.config.environment("gateway")
    port = free_port()
    env.update(ESEAL_PORT=str(port), ESEAL_INTERNAL_PORT=str(free_port()), ESEAL_RATE_LIMIT_SCALE="1")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    try:
        async def ready() -> bool:
            try:
                return (await rawhttp.get(HOST, port, "/readyz")).status == 200
            except OSError:
                return False

        await eventually(ready, within=60, every=0.3, what="the second gateway being ready")
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()  # ours: started just above
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def test_client_secret_guessing_is_rate_limited(production_rate_gateway: str, world: World) -> None:
    rules = [r for r in default_rules(1.0) if r.method == "POST" and r.path.match("/api/v1/oauth/token")]
    assert rules, "no rate rule covers POST /api/v1/oauth/token"
    attempts = rules[0].capacity + 10
    api = Api(production_rate_gateway)
    statuses: list[int] = []
    try:
        for i in range(attempts):
            # The real client id with wrong secrets, and unknown ids: both are guessing.
            client_id = world.other_client.client_id if i % 2 else f"guess-{uuid.uuid4().hex[:12]}"
            basic = base64.b64encode(f"{client_id}:wrong-{i}".encode()).decode()
            # A fresh X-Forwarded-For each time: with no trusted proxy it must not count.
            spoofed = f"203.0.113.{i % 250 + 1}"
            r = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {basic}", "X-Forwarded-For": spoofed})
            assert r.status in (401, 429), r
            statuses.append(r.status)
            if r.status == 429:
                assert r.json["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1, r
                break
    finally:
        await api.close()
    assert 429 in statuses, f"{attempts} wrong client secrets, none refused with 429"
