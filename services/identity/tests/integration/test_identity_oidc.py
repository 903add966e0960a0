"""统一身份认证 login against a local OpenID Connect provider: real identity in-process, its
own database; each refusal (state replayed or unknown, PKCE mismatch, wrong nonce, bad
signature, wrong audience, expired token, no ID number, no account) and the success that
binds the provider's subject to the registered person, then logs in by that binding."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from identity.bootstrap import MIGRATIONS, IdentitySettings, create_app

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.service import prepare_database
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.oidc_provider import OidcProvider, User, authorize

REDIRECT = "https://eseal.example/app/login/oidc"
CALLBACK = "/api/v1/sessions/oidc/callback"


@dataclass
class Rig:
    api: Api
    provider: OidcProvider
    database_url: str

    async def start(self) -> str:
        reply = await self.api.post("/api/v1/sessions/oidc/start")
        assert reply.status == 201, reply
        return str(reply.json["authorization_url"])

    async def provider_answer(self) -> dict[str, str]:
        answer = await authorize(await self.start())
        assert "code" in answer, answer
        return answer

    async def login(self) -> Reply:
        answer = await self.provider_answer()
        return await self.api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


@pytest_asyncio.fixture(scope="module")
async def rig() -> AsyncIterator[Rig]:
    provider = await OidcProvider().start()
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_oidc_{run}", f"eseal_oi{run}_"
    ensure_vhost(vhost)
    settings = IdentitySettings(env="test", db_prefix=prefix, db_pool_max=4,  # type: ignore[arg-type]
                                amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                                test_fast_kdf=True, oidc_issuer=provider.issuer,
                                oidc_client_id=provider.client_id,
                                oidc_client_secret=provider.client_secret,
                                oidc_redirect_uri=REDIRECT, oidc_display_name="吉林省统一身份认证")
    await prepare_database(settings, MIGRATIONS)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    api = Api(f"http://127.0.0.1:{server.port}")
    try:
        yield Rig(api, provider, settings.database_url)
    finally:
        await api.close()
        await server.close()
        await provider.stop()
        await drop_databases(prefix)
        delete_vhost(vhost)


@pytest_asyncio.fixture
async def person(rig: Rig) -> AsyncIterator[dict[str, Any]]:
    registered = await ids.register_person(rig.api)
    rig.provider.reset(User(sub=f"sub-{uuid.uuid4().hex}", id_number=registered["id_number"]))
    yield registered
    rig.provider.reset()


async def test_status_says_enabled_with_the_button_text(rig: Rig) -> None:
    reply = await rig.api.get("/api/v1/sessions/oidc")
    assert reply.status == 200 and reply.json == {"enabled": True, "display_name": "吉林省统一身份认证"}


async def test_start_sends_the_browser_with_state_nonce_and_pkce(rig: Rig) -> None:
    url = urlsplit(await rig.start())
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{rig.provider.issuer}/authorize"
    assert query["response_type"] == "code" and query["client_id"] == rig.provider.client_id
    assert query["redirect_uri"] == REDIRECT and "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    rows = await rig.fetch("SELECT code_verifier, used_at FROM oidc_logins WHERE state = $1", query["state"])
    assert len(rows) == 1 and rows[0]["used_at"] is None
    assert rows[0]["code_verifier"] not in url.geturl()  # the verifier never leaves identity


async def test_first_login_binds_by_id_number_then_the_binding_logs_in(rig: Rig,
                                                                      person: dict[str, Any]) -> None:
    first = await rig.login()
    assert first.status == 201, first
    assert first.headers["Cache-Control"] == "no-store"
    assert set(first.json) == {"access_token", "refresh_token", "token_type", "expires_in", "principal"}
    assert first.json["principal"] == {"id": person["person_id"], "role": "person", "name": person["name"]}
    me = await rig.api.get("/api/v1/me", token=first.json["access_token"])
    assert me.status == 200 and me.json["id"] == person["person_id"]
    sub = rig.provider.user.sub if rig.provider.user else ""
    bindings = await rig.fetch("SELECT principal_id FROM oidc_bindings WHERE subject = $1", sub)
    assert [str(b["principal_id"]) for b in bindings] == [person["person_id"]]
    events = await rig.fetch("SELECT type FROM events WHERE stream_id = $1",
                             f"login-{person['person_id']}")
    assert [e["type"] for e in events] == ["OidcIdentityBound"]
    methods = await rig.fetch("SELECT method FROM sessions WHERE principal_id = $1",
                              uuid.UUID(person["person_id"]))
    assert [m["method"] for m in methods] == ["oidc"]

    # the provider no longer sends the number: the binding alone decides
    rig.provider.omit_id_number = True
    again = await rig.login()
    assert again.status == 201, again
    assert again.json["principal"]["id"] == person["person_id"]
    events = await rig.fetch("SELECT type FROM events WHERE stream_id = $1", f"login-{person['person_id']}")
    assert len(events) == 1  # bound once


async def test_a_state_is_used_once(rig: Rig, person: dict[str, Any]) -> None:
    answer = await rig.provider_answer()
    body = {"code": answer["code"], "state": answer["state"]}
    assert (await rig.api.post(CALLBACK, json=body)).status == 201
    replay = await rig.api.post(CALLBACK, json=body)
    assert replay.status == 409 and replay.json["code"] == "oidc_state_used", replay


async def test_an_unknown_state_is_refused(rig: Rig, person: dict[str, Any]) -> None:
    answer = await rig.provider_answer()
    reply = await rig.api.post(CALLBACK, json={"code": answer["code"], "state": "made-up-state"})
    assert reply.status == 400 and reply.json["code"] == "oidc_state_invalid", reply


async def test_an_expired_state_is_refused(rig: Rig, person: dict[str, Any]) -> None:
    answer = await rig.provider_answer()
    conn = await asyncpg.connect(rig.database_url)
    try:
        await conn.execute("UPDATE oidc_logins SET expires_at = now() - interval '1 second'"
                           " WHERE state = $1", answer["state"])
    finally:
        await conn.close()
    reply = await rig.api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})
    assert reply.status == 400 and reply.json["code"] == "oidc_state_invalid", reply


async def test_a_code_with_another_logins_state_fails_pkce(rig: Rig, person: dict[str, Any]) -> None:
    """The code was issued for one login's challenge; the other login's verifier does not match."""
    one, other = await rig.provider_answer(), await rig.provider_answer()
    reply = await rig.api.post(CALLBACK, json={"code": one["code"], "state": other["state"]})
    assert reply.status == 401 and reply.json["code"] == "oidc_login_refused", reply
    assert reply.json["reason"] == "code_refused"


@pytest.mark.parametrize(("knob", "reason"), [("wrong_nonce", "nonce"), ("bad_signature", "signature"),
                                              ("expired", "expired")])
async def test_a_refused_id_token_logs_nobody_in(rig: Rig, person: dict[str, Any], knob: str,
                                                 reason: str) -> None:
    setattr(rig.provider, knob, True)
    reply = await rig.login()
    assert reply.status == 401 and reply.json["code"] == "oidc_login_refused", reply
    assert reply.json["reason"] == reason
    assert "access_token" not in (reply.json or {})


async def test_an_id_token_for_another_client_is_refused(rig: Rig, person: dict[str, Any]) -> None:
    rig.provider.audience = "another-client"
    reply = await rig.login()
    assert reply.status == 401 and reply.json["reason"] == "audience", reply


async def test_a_new_provider_key_is_fetched_when_a_token_names_it(rig: Rig, person: dict[str, Any]) -> None:
    assert (await rig.login()).status == 201
    before = rig.provider.jwks_requests
    rig.provider.rotate_key()
    reply = await rig.login()
    assert reply.status == 201, reply
    assert rig.provider.jwks_requests == before + 1


async def test_no_registered_person_is_account_not_found(rig: Rig) -> None:
    rig.provider.reset(User(sub=f"sub-{uuid.uuid4().hex}", id_number=ids.id_number()))
    reply = await rig.login()
    assert reply.status == 404 and reply.json["code"] == "account_not_found", reply


async def test_without_the_id_number_claim_a_first_login_is_refused(rig: Rig, person: dict[str, Any]) -> None:
    rig.provider.omit_id_number = True
    reply = await rig.login()
    assert reply.status == 401 and reply.json["reason"] == "id_number_missing", reply


async def test_an_account_binds_to_one_subject(rig: Rig, person: dict[str, Any]) -> None:
    assert (await rig.login()).status == 201
    rig.provider.reset(User(sub=f"sub-{uuid.uuid4().hex}", id_number=person["id_number"]))
    reply = await rig.login()
    assert reply.status == 409 and reply.json["code"] == "oidc_account_bound", reply


async def test_a_wrong_client_secret_is_the_deployments_problem_not_the_users(rig: Rig,
                                                                             person: dict[str, Any]) -> None:
    answer = await rig.provider_answer()
    right, rig.provider.client_secret = rig.provider.client_secret, "rotated-at-the-provider"
    try:
        reply = await rig.api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})
    finally:
        rig.provider.client_secret = right
    assert reply.status == 502 and reply.json["code"] == "oidc_provider_unavailable", reply
