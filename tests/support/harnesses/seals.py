"""seals in-process against real PostgreSQL, with fakes at its ports (identity, certs).

One database per test session (dropped afterwards); no events through the broker: the
directory is fed by calling the consumer's handlers the way the consumer does, and nothing is
published (the broker, on a vhost of its own, only carries the revocation feed).
Tokens are real ES256 tokens from ``TestSigner``, verified by the service as in production.
Every test makes its own enterprises and persons, so tests share the app but not data.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from seals.bootstrap import MIGRATIONS, Ports, create_app
from seals.config import SealsSettings
from seals.domain.access import AgentRecord
from seals.entrypoints.support import CONTEXT
from seals.projections import directory
from seals.service_layer import context as seals_context
from seals.service_layer.ports import (
    CertificateStatus,
    EnterpriseInfo,
    EslRequest,
    MatchedPerson,
    SealCertificate,
    SealCertificateRequest,
    SealSignature,
)

from devstack.stack import delete_vhost, ensure_vhost
from shared import DB
from shared.auth import VERIFIER, Principal
from shared.catalog import AgentAdded, AgentRemoved, AgentUpdated, EnterpriseRegistered, PersonRegistered
from shared.china_time import today_in_china
from shared.db import drop_database
from shared.errors import EsealError
from shared.events import DomainEvent, Envelope, utcnow
from shared.gm import ses
from shared.gm import x509 as gmx509
from shared.gm.sm2 import Sm2PrivateKey
from shared.internal import internal_token
from shared.listeners import add_internal_site
from shared.service import prepare_database
from tests.support import identities
from tests.support.api import Reply
from tests.support.tokens import TestSigner


def problem(status: int, code: str, detail: str = "") -> EsealError:
    err = EsealError(detail or code, code=code)
    err.status = status
    return err


# --- fakes at the ports -------------------------------------------------------------------


@dataclass
class FakeFaceTokens:
    """Face tokens bound to a subject and purpose, usable once; identity's statuses."""

    tokens: dict[str, tuple[uuid.UUID, str]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    consumed: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    def issue(self, subject_id: uuid.UUID, purpose: str) -> str:
        token = uuid.uuid4().hex
        self.tokens[token] = (subject_id, purpose)
        return token

    async def consume(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None:
        if face_token not in self.tokens:
            raise problem(422, "face_token_invalid")
        if face_token in self.used:
            raise problem(409, "face_token_used")
        if self.tokens[face_token] != (subject_id, purpose):
            raise problem(403, "face_token_mismatch")
        self.used.add(face_token)
        self.consumed.append((subject_id, purpose))


@dataclass
class FakeRegistry:
    """identity's registry of persons and enterprises."""

    persons: dict[tuple[str, str], MatchedPerson] = field(default_factory=dict)
    enterprises: dict[uuid.UUID, EnterpriseInfo] = field(default_factory=dict)
    agents: dict[uuid.UUID, AgentRecord] = field(default_factory=dict)

    async def match(self, name: str, id_type: str, id_number: str) -> MatchedPerson:
        found = self.persons.get((name, id_number.upper()))
        if found is None:
            raise problem(422, "person_not_registered")
        return found

    async def person_name(self, person_id: uuid.UUID) -> str | None:
        return next((p.name for p in self.persons.values() if p.person_id == person_id), None)

    async def enterprise(self, enterprise_id: uuid.UUID) -> EnterpriseInfo | None:
        return self.enterprises.get(enterprise_id)

    async def agent(self, agent_id: uuid.UUID) -> AgentRecord | None:
        return self.agents.get(agent_id)


@dataclass
class FakeCA:
    """certs: personal certificate status, seal certificates, signing, revocation."""

    statuses: dict[uuid.UUID, CertificateStatus] = field(default_factory=dict)
    issued: dict[uuid.UUID, SealCertificateRequest] = field(default_factory=dict)
    revoked: dict[uuid.UUID, str] = field(default_factory=dict)
    signed: list[tuple[uuid.UUID, float]] = field(default_factory=list)  # (seal, monotonic time)
    sign_delay: float = 0.0
    fail_revocations: bool = False
    issue_delay: float = 0.0
    esl_requests: list[EslRequest] = field(default_factory=list)
    sm2: Sm2TestPki = field(default_factory=lambda: Sm2TestPki())

    async def certificate_status(self, principal_id: uuid.UUID) -> CertificateStatus:
        return self.statuses.get(principal_id, "none")

    async def issue_seal_certificate(self, request: SealCertificateRequest) -> SealCertificate:
        if self.issue_delay:
            await asyncio.sleep(self.issue_delay)
        self.issued[request.seal_id] = request
        serial = f"{uuid.uuid4().int % 10**20:020d}"
        return SealCertificate(f"cert-{serial}", serial, f"-----BEGIN CERTIFICATE-----\n{serial}\n",
                               ["issuing", "root"])

    async def sign(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        if seal_id in self.revoked:
            raise problem(409, "certificate_revoked")
        if self.sign_delay:
            await asyncio.sleep(self.sign_delay)
        self.signed.append((seal_id, time.monotonic()))
        signature = b"sig:" + digest
        return SealSignature(base64.b64encode(signature).decode(), "ecdsa-p256-sha256",
                             "serial", timestamp_token_b64=self._token(signature, timestamp))

    @staticmethod
    def _token(signature: bytes, timestamp: bool) -> str:
        """Not a token: a marker naming what a TSA token would cover (seals passes it on)."""
        return base64.b64encode(b"tsa:" + hashlib.sha256(signature).digest()).decode() if timestamp else ""

    async def sign_sm2(self, seal_id: uuid.UUID, digest: bytes, *, timestamp: bool = False) -> SealSignature:
        """Real SM2 with the seal's test SM2 key (digest = e = SM3(Z‖M))."""
        if seal_id in self.revoked:
            raise problem(409, "certificate_revoked")
        self.signed.append((seal_id, time.monotonic()))
        pki = self.sm2
        cert = pki.certificate(seal_id)
        signature = pki.keys[seal_id].sign_digest(digest)
        return SealSignature(base64.b64encode(signature).decode(), "sm2-sm3", "sm2-serial",
                             gm_pem(cert), [gm_pem(pki.issuing.dump()), gm_pem(pki.root.dump())],
                             self._token(signature, timestamp))

    async def revoke_seal_certificate(self, seal_id: uuid.UUID, reason: str) -> None:
        if self.fail_revocations:
            raise problem(503, "service_unavailable", "certs is unavailable")
        self.revoked[seal_id] = reason

    async def make_esl(self, request: EslRequest) -> bytes:
        """What certs does, with a test SM2 hierarchy (real SM2 signatures, shared.gm)."""
        if request.seal_id in self.revoked:
            raise problem(409, "certificate_revoked")
        self.esl_requests.append(request)
        pki = self.sm2
        signers = [pki.certificate(request.seal_id)] + [
            pki.certificate(p) for p in request.signer_principal_ids]
        return ses.make_seal(
            es_id=request.seal_id.hex.upper(), name=request.name, seal_type=request.seal_type,
            signer_certificates=signers, valid_from=request.created_at,
            valid_to=request.created_at + timedelta(days=730),
            picture=ses.SealPicture("PNG", request.picture_png, request.width_mm,
                                    request.height_mm),
            maker_key=pki.maker_key, maker_certificate=pki.maker.dump(),
            created_at=request.created_at)


def gm_pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


class Sm2TestPki:
    """A throw-away SM2 root, issuing CA and seal maker; one certificate per subject id."""

    def __init__(self) -> None:
        root_key, issuing_key, self.maker_key = (Sm2PrivateKey.generate() for _ in range(3))
        self.root = gmx509.create_root(root_key, {"common_name": "test SM2 root"})
        self.issuing = gmx509.create_issuing_ca(issuing_key.public_key,
                                                {"common_name": "test SM2 issuing"}, self.root,
                                                root_key)
        self._issuing_key = issuing_key
        self.maker = gmx509.issue_seal_maker_certificate(
            self.maker_key.public_key, organization="test", ca=self.issuing, ca_key=issuing_key)
        self._certs: dict[uuid.UUID, bytes] = {}
        self.keys: dict[uuid.UUID, Sm2PrivateKey] = {}

    def certificate(self, subject_id: uuid.UUID) -> bytes:
        if subject_id not in self._certs:
            self.keys[subject_id] = Sm2PrivateKey.generate()
            cert = gmx509.issue_person_certificate(
                self.keys[subject_id].public_key, name="test", person_id=str(subject_id),
                ca=self.issuing, ca_key=self._issuing_key)
            self._certs[subject_id] = bytes(cert.dump())
        return self._certs[subject_id]


# --- the service under test ---------------------------------------------------------------


@dataclass
class Enterprise:
    info: EnterpriseInfo
    principal: Principal
    token: str

    @property
    def id(self) -> uuid.UUID:
        return self.info.enterprise_id


@dataclass
class Person:
    person_id: uuid.UUID
    name: str
    id_number: str
    token: str


@dataclass
class Seals:
    url: str
    app: web.Application
    http: aiohttp.ClientSession
    signer: TestSigner
    face: FakeFaceTokens
    registry: FakeRegistry
    ca: FakeCA
    settings: SealsSettings
    versions: dict[str, int] = field(default_factory=dict)
    internal_url: str = ""  # the internal listener: /internal/* are served only there

    @property
    def ctx(self) -> seals_context.Seals:
        return self.app[CONTEXT]

    @property
    def pool(self) -> asyncpg.Pool:
        """The service's database, for checks the API does not show."""
        return self.app[DB]

    async def call(self, method: str, path: str, token: str | None = None, *,
                   json: Any = None, headers: dict[str, str] | None = None,
                   public: bool = False) -> Reply:
        """``/internal/*`` goes to the internal listener as in the platform (``public``: not)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        base = self.internal_url if path.startswith("/internal") and not public else self.url
        async with self.http.request(method, base + path, json=json, headers=h) as r:
            body = await r.read()
            parsed = None
            if r.content_type in ("application/json", "application/problem+json"):
                import json as _json
                parsed = _json.loads(body or b"null")
            return Reply(r.status, dict(r.headers), body, parsed)

    async def internal(self, method: str, path: str, *, json: Any = None,
                       source: str = "stamping") -> Reply:
        token = internal_token(self.settings.internal_secret.get_secret_value(), source, "seals")
        return await self.call(method, path, json=json, headers={"Authorization": f"Internal {token}"})

    # directory: events as the consumer would hand them over
    async def deliver(self, event: DomainEvent, stream_id: uuid.UUID, version: int | None = None) -> None:
        sid = str(stream_id)
        version = version or self.versions.get(sid, 0) + 1
        self.versions[sid] = max(version, self.versions.get(sid, 0))
        env = Envelope(event_id=uuid.uuid4(), type=event.event_type, stream_type=event.stream_type,
                       stream_id=sid, stream_version=version, occurred_at=utcnow(),
                       producer=event.producer, data=event.model_dump(mode="json"))
        handler = directory.directory_handlers()[env.routing_key]
        async with self.pool.acquire() as conn, conn.transaction():
            await handler(conn, env, event)

    async def enterprise(self, *, certificate: bool = True, in_directory: bool = True,
                         legal_representative: str | None = None) -> Enterprise:
        eid = uuid.uuid4()
        info = EnterpriseInfo(eid, identities.enterprise_name(), identities.uscc(),
                              legal_representative or identities.person_name())
        self.registry.enterprises[eid] = info
        if in_directory:
            await self.deliver(EnterpriseRegistered(enterprise_id=eid, name=info.name, uscc=info.uscc,
                                                    legal_representative_name=info.legal_representative_name),
                               eid)
        principal, token = self.signer.enterprise(eid, info.name)
        if certificate:
            self.ca.statuses[eid] = "active"
        return Enterprise(info, principal, token)

    async def agent(self, enterprise: Enterprise, *, can_manage: bool = True,
                    token_can_manage: bool | None = None, known: bool = True,
                    identity_knows: bool = True,
                    valid_from: date | None = None, valid_to: date | None = None,
                    certificate: bool = True) -> tuple[uuid.UUID, str]:
        """An agent; ``known``: its AgentAdded reached seals; ``identity_knows``: identity
        can describe it (it always can, on the real platform)."""
        agent_id = uuid.uuid4()
        today = today_in_china()
        start, end = valid_from or today - timedelta(days=2), valid_to or today + timedelta(days=30)
        if identity_knows:
            self.registry.agents[agent_id] = AgentRecord(agent_id, enterprise.id, start, end,
                                                         can_manage, False)
        if known:
            await self.deliver(AgentAdded(
                agent_id=agent_id, enterprise_id=enterprise.id, name=identities.person_name(),
                valid_from=start, valid_to=end, can_manage=can_manage,
                added_by=enterprise.id), agent_id)
        _, token = self.signer.agent(enterprise.id, agent_id,
                                     can_manage=can_manage if token_can_manage is None else token_can_manage)
        if certificate:
            self.ca.statuses[agent_id] = "active"
        return agent_id, token

    async def update_agent(self, enterprise: Enterprise, agent_id: uuid.UUID, *, can_manage: bool,
                           valid_from: date, valid_to: date) -> None:
        await self.deliver(AgentUpdated(agent_id=agent_id, enterprise_id=enterprise.id,
                                        valid_from=valid_from, valid_to=valid_to,
                                        can_manage=can_manage), agent_id)

    async def remove_agent(self, enterprise: Enterprise, agent_id: uuid.UUID) -> None:
        await self.deliver(AgentRemoved(agent_id=agent_id, enterprise_id=enterprise.id,
                                        removed_by=enterprise.id), agent_id)

    async def person(self, *, in_directory: bool = True) -> Person:
        pid = uuid.uuid4()
        name, number = identities.person_name(), identities.id_number()
        self.registry.persons[(name, number)] = MatchedPerson(pid, name)
        if in_directory:
            masked = "*" * 14 + number[-4:]
            await self.deliver(PersonRegistered(person_id=pid, name=name, id_number_masked=masked,
                                                person_key=uuid.uuid4().hex), pid)
        _, token = self.signer.person(pid, name)
        return Person(pid, name, number, token)

    async def issue(self, enterprise: Enterprise, type_code: str = "contract", name: str | None = None,
                    *, token: str | None = None, subject: uuid.UUID | None = None) -> Reply:
        face = self.face.issue(subject or enterprise.id, "issue_seal")
        body: dict[str, Any] = {"type": type_code, "face_token": face}
        if name is not None:
            body["name"] = name
        return await self.call("POST", "/api/v1/seals", token or enterprise.token, json=body)

    async def revoke(self, enterprise: Enterprise, seal_id: str, *, token: str | None = None,
                     subject: uuid.UUID | None = None, reason: str = "遗失") -> Reply:
        face = self.face.issue(subject or enterprise.id, "revoke_seal")
        return await self.call("POST", f"/api/v1/seals/{seal_id}/revocation", token or enterprise.token,
                               json={"face_token": face, "reason": reason})

    async def grant(self, enterprise: Enterprise, seal_id: str, person: Person, *,
                    valid_from: date | None = None, valid_to: date | None = None,
                    token: str | None = None) -> Reply:
        today = today_in_china()
        return await self.call("POST", f"/api/v1/seals/{seal_id}/grants", token or enterprise.token, json={
            "name": person.name, "id_type": "resident_id_card", "id_number": person.id_number,
            "valid_from": (valid_from or today - timedelta(days=1)).isoformat(),
            "valid_to": (valid_to or today + timedelta(days=30)).isoformat()})

    async def stamp(self, seal_id: str | uuid.UUID, person: Person | uuid.UUID,
                    enterprise: Enterprise | uuid.UUID, digest: bytes = b"\x01" * 32) -> Reply:
        pid = person.person_id if isinstance(person, Person) else person
        eid = enterprise.id if isinstance(enterprise, Enterprise) else enterprise
        return await self.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures", json={
            "person_id": str(pid), "enterprise_id": str(eid),
            "digest_b64": base64.b64encode(digest).decode()})

    async def count_events(self, stream_id: str | uuid.UUID | None = None) -> int:
        async with self.pool.acquire() as conn:
            if stream_id is None:
                return int(await conn.fetchval("SELECT count(*) FROM events"))
            return int(await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1",
                                           str(stream_id)))

    async def events_of(self, stream_id: str | uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version",
                                    str(stream_id))
        return [(r["type"], r["data"]) for r in rows]


@pytest_asyncio.fixture(scope="session")
async def seals() -> AsyncIterator[Seals]:
    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_seals_{run}"
    ensure_vhost(vhost)
    signer = TestSigner()
    # identity's keys and revocation list (every service loads the list before it serves)
    identity = TestServer(signer.identity_app(), host="127.0.0.1")
    await identity.start_server()
    settings = SealsSettings(db_prefix=f"eseal_st{run}_", agent_sync_wait=0.5,
                             revocation_retry_interval=0.2,
                             identity_url=f"http://127.0.0.1:{identity.port}",
                             identity_internal_url=f"http://127.0.0.1:{identity.port}",
                             amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    await prepare_database(settings, MIGRATIONS)
    face, registry, ca = FakeFaceTokens(), FakeRegistry(), FakeCA()
    app = create_app(settings, ports=lambda _: Ports(face, registry, ca), consume=False,
                     publish=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.runner is not None
    internal_url = await add_internal_site(server.runner)
    for jwk in signer.jwks()["keys"]:
        app[VERIFIER].add_jwk(jwk)
    http = aiohttp.ClientSession()
    try:
        yield Seals(f"http://127.0.0.1:{server.port}", app, http, signer, face, registry, ca, settings,
                    internal_url=internal_url)
    finally:
        await http.close()
        await server.close()
        await identity.close()
        delete_vhost(vhost)
        await drop_database(settings.pg_url, settings.db_name)


def fixed_clock(at: datetime) -> Any:
    return lambda: at
