"""certs in-process against real PostgreSQL and RabbitMQ, behind the real gateway.

Identity is replaced by a fake: ``TestSigner`` serves the JWKS (real ES256 tokens) and an
in-memory ``PrincipalDirectory`` answers ``GET /internal/principals/{id}`` both in process
(the port) and over HTTP (for the adapter's own test). The certs clock is a ``SystemClock``
whose offset the tests move (the sandbox endpoint moves the same object).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from certs.adapters.clock import SystemClock
from certs.bootstrap import MIGRATIONS, Ports, create_app
from certs.config import CertsSettings
from certs.domain.agreements import CURRENT_AGREEMENTS
from certs.domain.errors import PrincipalNotFound
from certs.service_layer.ports import PrincipalRecord
from gateway.bootstrap import create_gateway
from gateway.config import GatewaySettings

from devstack.stack import delete_vhost, ensure_vhost
from shared.auth import Principal
from shared.db import drop_database
from shared.internal import internal_token
from shared.listeners import add_internal_site
from shared.service import prepare_database
from tests.support import identities
from tests.support.api import Reply
from tests.support.tokens import TestSigner

PASSWORD = "Cert#2026pw"
ALL_AGREEMENTS = [{"code": a.code, "version": a.version} for a in CURRENT_AGREEMENTS]


class InMemoryDirectory:
    """identity's answers, kept in memory (the ``PrincipalDirectory`` port)."""

    def __init__(self, records: list[PrincipalRecord] | None = None) -> None:
        self.records = {r.id: r for r in records or []}

    def add(self, record: PrincipalRecord) -> None:
        self.records[record.id] = record

    async def get(self, principal_id: uuid.UUID) -> PrincipalRecord:
        try:
            return self.records[principal_id]
        except KeyError:
            raise PrincipalNotFound() from None


class FaceTokens:
    """identity's passed face checks, kept in memory: ``grant`` one, certs consumes it over
    HTTP (``POST /internal/face-tokens/consume``) with identity's refusals."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[uuid.UUID, str]] = {}
        self.used: set[str] = set()

    def grant(self, subject_id: uuid.UUID, purpose: str = "reset_certificate") -> str:
        token = uuid.uuid4().hex
        self.tokens[token] = (subject_id, purpose)
        return token

    def consume(self, token: str, subject_id: uuid.UUID, purpose: str) -> tuple[int, str] | None:
        """None when used now, else (status, problem code) as identity answers."""
        if token not in self.tokens:
            return 422, "face_token_invalid"
        if token in self.used:
            return 409, "face_token_used"
        if self.tokens[token] != (subject_id, purpose):
            return 403, "face_token_mismatch"
        self.used.add(token)
        return None


@dataclass
class User:
    principal: Principal
    token: str
    record: PrincipalRecord

    @property
    def id(self) -> uuid.UUID:
        return self.principal.id


@dataclass
class CertsHarness:
    gateway: str
    direct: str
    signer: TestSigner
    directory: InMemoryDirectory
    clock: SystemClock
    http: aiohttp.ClientSession
    settings: CertsSettings
    app: web.Application
    faces: FaceTokens
    public: str = ""  # the public listener (what the gateway forwards to); direct: internal

    async def request(self, method: str, path: str, *, token: str | None = None,
                      internal: bool = False, base: str | None = None, **kw: Any) -> Reply:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if internal:
            headers["Authorization"] = "Internal " + internal_token(
                self.settings.internal_secret.get_secret_value(), "seals", "certs")
        url = (base or (self.direct if internal else self.gateway)) + path
        async with self.http.request(method, url, headers=headers, **kw) as r:
            raw = await r.read()
            parsed = None
            if r.content_type in ("application/json", "application/problem+json"):
                import json
                parsed = json.loads(raw or b"null")
            return Reply(r.status, dict(r.headers), raw, parsed)

    # --- people ------------------------------------------------------------------------

    def person(self, *, phone: str | None = None) -> User:
        record = PrincipalRecord(id=uuid.uuid4(), role="person", name=identities.person_name(),
                                 phone=phone or identities.phone(), id_type="resident_id_card",
                                 id_number=identities.id_number())
        principal, token = self.signer.person(record.id, record.name)
        self.directory.add(record)
        return User(principal, token, record)

    def enterprise(self, *, verification: str | None = "verified") -> User:
        """An enterprise account; ``verification`` as identity answers it (None: an identity
        that does not say)."""
        eid = uuid.uuid4()
        name = identities.enterprise_name()
        record = PrincipalRecord(id=eid, role="enterprise", name=name, phone=identities.phone(),
                                 enterprise_id=eid, enterprise_name=name,
                                 enterprise_uscc=identities.uscc(),
                                 legal_representative_name=identities.person_name(),
                                 verification=verification)
        principal, token = self.signer.enterprise(eid, name)
        self.directory.add(record)
        return User(principal, token, record)

    def agent(self, enterprise: User) -> User:
        record = PrincipalRecord(
            id=uuid.uuid4(), role="agent", name=identities.person_name(),
            phone=identities.phone(), id_type="resident_id_card", id_number=identities.id_number(),
            enterprise_id=enterprise.id, enterprise_name=enterprise.record.enterprise_name,
            enterprise_uscc=enterprise.record.enterprise_uscc)
        principal, token = self.signer.agent(enterprise.id, record.id, name=record.name)
        self.directory.add(record)
        return User(principal, token, record)

    # --- flows -------------------------------------------------------------------------

    async def send_code(self, user: User) -> Reply:
        return await self.request("POST", "/api/v1/certificate/activation-codes", token=user.token)

    async def last_code(self, user: User) -> str:
        r = await self.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
        assert r.status == 200 and r.json["items"], r
        text = r.json["items"][0]["text"]
        return "".join(c for c in text.split("验证码", 1)[1][:8] if c.isdigit())[:6]

    async def activate_request(self, user: User, code: str, *, password: str = PASSWORD,
                               confirm: str | None = None,
                               agreements: list[dict[str, str]] | None = None) -> Reply:
        return await self.request("POST", "/api/v1/certificate", token=user.token, json={
            "sms_code": code, "password": password,
            "password_confirm": password if confirm is None else confirm,
            "accepted_agreements": ALL_AGREEMENTS if agreements is None else agreements})

    async def activate(self, user: User, password: str = PASSWORD) -> dict[str, Any]:
        sent = await self.send_code(user)
        assert sent.status == 202, sent
        r = await self.activate_request(user, await self.last_code(user), password=password)
        assert r.status == 201, r
        return dict(r.json)

    async def sign(self, user: User, digest: bytes, password: str = PASSWORD) -> Reply:
        import base64
        return await self.request(
            "POST", f"/internal/principals/{user.id}/signatures", internal=True,
            json={"digest_b64": base64.b64encode(digest).decode(), "certificate_password": password})

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.settings.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


def _fake_identity(signer: TestSigner, directory: InMemoryDirectory,
                   faces: FaceTokens) -> web.Application:
    app = signer.identity_app()

    async def consume(request: web.Request) -> web.Response:
        body = await request.json()
        refused = faces.consume(body["face_token"], uuid.UUID(body["subject_id"]), body["purpose"])
        if refused is not None:
            status, code = refused
            return web.json_response({"status": status, "code": code, "title": code}, status=status,
                                     content_type="application/problem+json")
        return web.json_response({"subject_id": body["subject_id"], "purpose": body["purpose"]})

    app.router.add_post("/internal/face-tokens/consume", consume)

    async def principal(request: web.Request) -> web.Response:
        record = directory.records.get(uuid.UUID(request.match_info["principal_id"]))
        if record is None:
            return web.json_response({"status": 404, "code": "not_found"}, status=404,
                                     content_type="application/problem+json")
        return web.json_response(record.model_dump(mode="json"))

    app.router.add_get("/internal/principals/{principal_id}", principal)
    return app


@pytest_asyncio.fixture(scope="session")
async def certs() -> AsyncIterator[CertsHarness]:
    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_certs_{run}"
    ensure_vhost(vhost)
    amqp_url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    signer, directory, clock, faces = TestSigner(), InMemoryDirectory(), SystemClock(), FaceTokens()
    identity = TestServer(_fake_identity(signer, directory, faces), host="127.0.0.1")
    await identity.start_server()
    identity_url = f"http://127.0.0.1:{identity.port}"
    settings = CertsSettings(env="test", db_prefix=f"eseal_c{run}_", amqp_url=amqp_url,
                             identity_url=identity_url, identity_internal_url=identity_url,
                             test_fast_kdf=True)
    await prepare_database(settings, MIGRATIONS)
    app = create_app(settings, Ports(directory=lambda _: directory, clock=clock))
    service = TestServer(app, host="127.0.0.1")
    await service.start_server()
    public = f"http://127.0.0.1:{service.port}"
    assert service.runner is not None
    direct = await add_internal_site(service.runner)  # /internal/* are served only there
    gw = TestServer(create_gateway(GatewaySettings(
        env="test", amqp_url=amqp_url, identity_url=identity_url, identity_internal_url=identity_url,
        certs_url=public, rate_limit_scale=100)), host="127.0.0.1")
    await gw.start_server()
    http = aiohttp.ClientSession()
    try:
        yield CertsHarness(f"http://127.0.0.1:{gw.port}", direct, signer, directory, clock, http,
                           settings, app, faces, public)
    finally:
        await http.close()
        await gw.close()
        await service.close()
        await identity.close()
        await drop_database(settings.pg_url, settings.db_name)
        delete_vhost(vhost)
