"""stamping in-process against real PostgreSQL and RabbitMQ, behind the real gateway.

seals and certs are replaced by the fakes of ``tests.support.fakes.stamping`` (at the ports), identity by
a fake that serves a locally generated key (``tests.support.tokens.TestSigner``), so the
gateway and stamping verify real ES256 person tokens, and relying systems' HS256 tokens pass
the gateway untouched, exactly as they will on the platform.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings
from stamping.bootstrap import MIGRATIONS, Ports, create_app
from stamping.config import StampingSettings
from stamping.domain import webhooks
from stamping.service_layer.clients import NewClient, create_client
from stamping.service_layer.ports import SealInfo

from devstack.stack import delete_vhost, ensure_vhost
from shared.db import create_pool, drop_database
from shared.service import prepare_database
from tests.support.api import Reply
from tests.support.fakes.stamping import FakeCa, FakeCerts, FakeSeals
from tests.support.pdf_fixtures import build_test_pki, make_test_pdf
from tests.support.tokens import TestSigner

CERT_PASSWORD = "Cert-pass-2026"


@dataclass
class Person:
    id: uuid.UUID
    name: str
    token: str


@dataclass
class Receiver:
    """A relying system's callback endpoint."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0
    calls: int = 0


@dataclass
class Harness:
    gateway: str
    direct: str
    signer: TestSigner
    seals: FakeSeals
    certs: FakeCerts
    ca: FakeCa
    http: aiohttp.ClientSession
    settings: StampingSettings
    pool: asyncpg.Pool
    receiver: Receiver
    pdf: bytes = field(default_factory=lambda: make_test_pdf(pages=3))
    app: web.Application | None = None  # the stamping app (to reach its context in tests)
    timestamper: Any = None  # the TSA stamping asks (pyHanko's DummyTimeStamper of the test PKI)

    async def call(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                   data: Any = None, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.gateway + path
        async with self.http.request(method, url, json=json, data=data, headers=h, params=params) as r:
            body = await r.read()
            parsed = None
            if r.content_type in ("application/json", "application/problem+json"):
                import json as _json
                parsed = _json.loads(body or b"null")
            return Reply(r.status, dict(r.headers), body, parsed)

    # relying systems ------------------------------------------------------------------

    async def new_client(self, name: str = "测试审批系统") -> tuple[NewClient, str]:
        c = await create_client(self.pool, name)
        basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
        r = await self.call("POST", "/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                            headers={"Authorization": f"Basic {basic}"})
        assert r.status == 200, r
        return c, r.json["access_token"]

    async def request_pdf(self, token: str, *, pdf: bytes | None = None, title: str = "营业执照变更申请",
                          page: int = 1, x: float = 300, y: float = 200, **extra: str) -> Reply:
        form = aiohttp.FormData()
        form.add_field("title", title)
        form.add_field("page", str(page))
        form.add_field("x", str(x))
        form.add_field("y", str(y))
        for k, v in extra.items():
            form.add_field(k, v)
        form.add_field("document", pdf if pdf is not None else self.pdf, filename="doc.pdf",
                       content_type="application/pdf")
        return await self.call("POST", "/api/v1/stamp-requests", token=token, data=form)

    # persons and seals ----------------------------------------------------------------

    def person(self, name: str = "张三", *, enrolled: bool = True) -> Person:
        principal, token = self.signer.person(name=name)
        if enrolled:
            self.certs.enroll(principal.id, name, CERT_PASSWORD)
        return Person(principal.id, name, token)

    def enterprise_seal(self, name: str = "长春市测试科技有限公司", **kw: Any) -> SealInfo:
        return self.seals.add_seal(uuid.uuid4(), name, **kw)

    async def scan(self, person: Person, qr_payload: str) -> Reply:
        return await self.call("POST", "/api/v1/scans", token=person.token, json={"qr_payload": qr_payload})

    async def stamp(self, person: Person, request_id: str, seal: SealInfo, *,
                    password: str = CERT_PASSWORD, enterprise_id: uuid.UUID | None = None) -> Reply:
        return await self.call("POST", f"/api/v1/stamp-requests/{request_id}/stamp", token=person.token,
                               json={"enterprise_id": str(enterprise_id or seal.enterprise_id),
                                     "seal_id": str(seal.seal_id), "certificate_password": password})

    async def sql(self, query: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)


def _receiver_app(receiver: Receiver) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        receiver.calls += 1
        if receiver.calls <= receiver.fail_first:
            return web.Response(status=503)
        receiver.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


def verify_callback(secret: str, headers: dict[str, str], body: bytes) -> bool:
    return webhooks.verify(secret, body, headers[webhooks.SIGNATURE_HEADER])


def count_tsa_requests(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The digests stamping asks its TSA to time-stamp from now on (for this test), but for
    pyHanko's size estimate (its dummy response is a token over SHA-256 of nothing)."""
    asked: list[bytes] = []
    original = h.timestamper.async_timestamp
    nothing = hashlib.sha256(b"").digest()

    async def counting(message_digest: bytes, md_algorithm: str) -> Any:
        if message_digest != nothing:
            asked.append(message_digest)
        return await original(message_digest, md_algorithm)

    monkeypatch.setattr(h.timestamper, "async_timestamp", counting)
    return asked


@pytest_asyncio.fixture(scope="session")
async def stamping() -> AsyncIterator[Harness]:
    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_stamping_{run}"
    ensure_vhost(vhost)
    amqp_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    signer = TestSigner()
    identity = TestServer(signer.identity_app(), host="127.0.0.1")
    await identity.start_server()
    identity_url = f"http://127.0.0.1:{identity.port}"
    receiver = Receiver("")
    hook_server = TestServer(_receiver_app(receiver), host="127.0.0.1")
    await hook_server.start_server()
    receiver.url = f"http://127.0.0.1:{hook_server.port}/hook"
    pki = build_test_pki()
    ca = FakeCa(pki)
    seals, certs = FakeSeals(pki, ca), FakeCerts(pki)
    timestamper = pki.timestamper()
    settings = StampingSettings(
        env="test", db_prefix=f"eseal_s{run}_", amqp_url=amqp_url, identity_url=identity_url,
        identity_internal_url=identity_url, stamping_sweep_interval=0.2, stamping_callback_poll_interval=0.2,
        stamping_callback_base_delay=0.2, stamping_callback_max_attempts=3, stamping_pdf_threads=2)
    await prepare_database(settings, MIGRATIONS)
    app = create_app(settings, lambda _: Ports(seals=seals, signer=certs, ca=ca, timestamper=timestamper,
                                                          seal_certificates=seals))
    service = TestServer(app, host="127.0.0.1")
    await service.start_server()
    direct = f"http://127.0.0.1:{service.port}"
    gw = TestServer(create_gateway(GatewaySettings(
        env="test", amqp_url=amqp_url, identity_url=identity_url, identity_internal_url=identity_url,
        stamping_url=direct,
        rate_limit_scale=100)), host="127.0.0.1")
    await gw.start_server()
    http = aiohttp.ClientSession()
    pool = await create_pool(settings.database_url, min_size=1, max_size=5)
    try:
        yield Harness(f"http://127.0.0.1:{gw.port}", direct, signer, seals, certs, ca, http, settings,
                      pool, receiver, app=app, timestamper=timestamper)
    finally:
        await pool.close()
        await http.close()
        await gw.close()
        await service.close()
        await hook_server.close()
        await identity.close()
        await drop_database(settings.pg_url, settings.db_name)
        delete_vhost(vhost)
