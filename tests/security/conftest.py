"""The attack suite's world: one started platform (the session's), and the actors an
attacker plays or preys on, built once for the whole package.

* enterprise A with an active certificate and a seal, granted to ``person``;
* enterprise B with its own certificate, seal, agent and a grant (to ``bystander``):
  the objects "another enterprise" owns;
* two relying systems; the second one has a stamp request the first must not see;
* stolen tokens: a logged-out (revoked) enterprise A and person session, and tokens of
  both signed with the platform's own key but expired an hour ago.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.certificates import activate_certificate
from tests.support.platform_keys import identity_signing_key, resign
from tests.support.polling import eventually
from tests.support.relying import RelyingSystem, client_token, create_client

CERT_PASSWORD = "Attack#2026pw"


@dataclass
class Account:
    id: str
    token: str
    name: str
    body: dict[str, Any]
    role: str


@dataclass
class World:
    ent_a: Account
    ent_b: Account
    person: Account  # holds a grant of A's seal, has a certificate
    bystander: Account  # holds a grant of B's seal
    seal_a: dict[str, Any]
    seal_b: dict[str, Any]
    grant_a: dict[str, Any]
    grant_b: dict[str, Any]
    agent_b: dict[str, Any]
    client: RelyingSystem
    other_client: RelyingSystem
    other_request_id: str  # a stamp request of ``other_client``
    revoked_ent_a: str  # enterprise A session, logged out
    revoked_person: str
    expired_ent_a: str  # enterprise A token signed by identity's key, expired an hour ago
    expired_person: str


async def login(api: Api, role: str, body: dict[str, Any]) -> str:
    username = body["uscc"] if role == "enterprise" else body["phone"]
    return str((await ids.login(api, role, username, body["password"]))["access_token"])


async def new_person(api: Api, *, certificate: bool) -> Account:
    body = await ids.register_person(api)
    token = await login(api, "person", body)
    if certificate:
        await activate_certificate(api, token, body["phone"], CERT_PASSWORD)
    return Account(body["person_id"], token, body["name"], body, "person")


async def new_enterprise(api: Api) -> Account:
    body = await ids.register_enterprise(api)
    token = await login(api, "enterprise", body)
    await activate_certificate(api, token, body["legal_representative"]["phone"], CERT_PASSWORD)
    return Account(body["enterprise_id"], token, body["name"], body, "enterprise")


async def new_seal(api: Api, ent: Account) -> dict[str, Any]:
    face = await ids.face_token(api, ent.token, "issue_seal")
    r = await api.post("/api/v1/seals", token=ent.token, json={"type": "official", "face_token": face})
    assert r.status == 201, r
    return dict(r.json)


async def grant(api: Api, ent: Account, seal_id: str, person: Account) -> dict[str, Any]:
    today = today_in_china()
    body = {
        "name": person.name,
        "id_type": "resident_id_card",
        "id_number": person.body["id_number"],
        "valid_from": (today - timedelta(days=1)).isoformat(),
        "valid_to": (today + timedelta(days=30)).isoformat(),
    }

    async def attempt() -> Reply | None:  # seals learns of new persons from identity's events
        r = await api.post(f"/api/v1/seals/{seal_id}/grants", token=ent.token, json=body)
        return None if r.status == 422 and r.json.get("code") == "person_not_registered" else r

    r = await eventually(attempt, within=30, every=0.2, what="the grant")
    assert r.status == 201, r
    return dict(r.json)


async def logged_out_token(api: Api, role: str, body: dict[str, Any]) -> str:
    """A fresh session of the account, then logged out: what a thief holds after logout."""
    token = await login(api, role, body)
    r = await api.delete("/api/v1/sessions/current", token=token)
    assert r.status == 204, r

    async def refused() -> bool:  # the gateway learns of the logout from identity's event
        return (await api.get("/api/v1/me", token=token)).status == 401

    await eventually(refused, within=20, every=0.2, what="the gateway refusing the logged-out token")
    return token


@pytest_asyncio.fixture(scope="package")
async def world(api: Api, platform: Platform) -> World:
    started = time.monotonic()
    ent_a, ent_b = await new_enterprise(api), await new_enterprise(api)
    person, bystander = await new_person(api, certificate=True), await new_person(api, certificate=False)
    seal_a, seal_b = await new_seal(api, ent_a), await new_seal(api, ent_b)
    grant_a = await grant(api, ent_a, seal_a["seal_id"], person)
    grant_b = await grant(api, ent_b, seal_b["seal_id"], bystander)
    agent_b = await ids.add_agent(api, ent_b.token)
    client = await create_client(platform, "攻击测试业务系统")
    client.token = await client_token(api, client)
    other = await create_client(platform, "另一个业务系统")
    other.token = await client_token(api, other)
    req = await api.post(
        "/api/v1/stamp-requests",
        token=other.token,
        json={"title": "另一个系统的摘要", "digest_sha256": "ab" * 32},
    )
    assert req.status == 201, req
    key = await identity_signing_key(platform)
    w = World(
        ent_a=ent_a,
        ent_b=ent_b,
        person=person,
        bystander=bystander,
        seal_a=seal_a,
        seal_b=seal_b,
        grant_a=grant_a,
        grant_b=grant_b,
        agent_b=agent_b,
        client=client,
        other_client=other,
        other_request_id=str(req.json["request_id"]),
        revoked_ent_a=await logged_out_token(api, "enterprise", ent_a.body),
        revoked_person=await logged_out_token(api, "person", person.body),
        expired_ent_a=resign(key, ent_a.token, expired_for=3600),
        expired_person=resign(key, person.token, expired_for=3600),
    )
    print(f"security world built in {time.monotonic() - started:.1f}s")
    return w


@pytest.fixture
def gateway_port(platform: Platform) -> int:
    return platform.config.port("gateway")


HOST = "127.0.0.1"


def internal_port(platform: Platform, service: str) -> int:
    """Public port + 1000 in a deployment; the test platform packs its ports closer."""
    return platform.config.internal_port(service)

