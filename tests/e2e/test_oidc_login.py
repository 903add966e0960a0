"""统一身份认证 login through the gateway: the session platform is configured with the local
OpenID Connect provider (tests/conftest.py), as a deployment would be with its provider."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.oidc_provider import OidcProvider, User, authorize

pytestmark = pytest.mark.e2e
CALLBACK = "/api/v1/sessions/oidc/callback"


async def _provider_answer(api: Api) -> dict[str, str]:
    started = await api.post("/api/v1/sessions/oidc/start")
    assert started.status == 201, started
    assert started.headers["Cache-Control"] == "no-store"
    answer = await authorize(started.json["authorization_url"])
    assert "code" in answer, answer
    return answer


async def _login(api: Api) -> Reply:
    answer = await _provider_answer(api)
    return await api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})


@pytest.fixture
def provider(oidc_provider: OidcProvider) -> Any:
    yield oidc_provider
    oidc_provider.reset()


async def test_the_login_screen_is_told_to_offer_it(api: Api) -> None:
    reply = await api.get("/api/v1/sessions/oidc")
    assert reply.status == 200 and reply.json == {"enabled": True, "display_name": "统一身份认证登录"}


async def test_a_registered_person_logs_in_through_the_provider(api: Api, platform: Platform,
                                                                provider: OidcProvider) -> None:
    person = await ids.register_person(api)
    provider.reset(User(sub=f"e2e-{uuid.uuid4().hex}", id_number=person["id_number"]))

    started = await api.post("/api/v1/sessions/oidc/start")
    answer = await authorize(started.json["authorization_url"])
    # the provider sent the browser back to the platform's H5 callback page
    location = await _redirect_location(started.json["authorization_url"])
    assert location.startswith(f"{platform.gateway_url}/app/login/oidc?")
    page = await api.get(urlsplit(location).path)  # the H5 app's page (a single-page app)
    assert page.status == 200 and b'id="root"' in page.body, page

    reply = await api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})
    assert reply.status == 201, reply
    assert reply.json["principal"] == {"id": person["person_id"], "role": "person", "name": person["name"]}
    me = await api.get("/api/v1/me", token=reply.json["access_token"])
    assert me.status == 200 and me.json["id"] == person["person_id"]

    # refresh and logout as after any login
    refreshed = await api.post("/api/v1/sessions/refresh",
                               json={"refresh_token": reply.json["refresh_token"]})
    assert refreshed.status == 201, refreshed
    assert (await api.delete("/api/v1/sessions/current", token=refreshed.json["access_token"])).status == 204

    # the state was spent: the same answer again is a replay
    replay = await api.post(CALLBACK, json={"code": answer["code"], "state": answer["state"]})
    assert replay.status == 409 and replay.json["code"] == "oidc_state_used", replay

    # the binding is enough from now on (even on another identity replica)
    provider.omit_id_number = True
    for _ in range(2):
        again = await _login(api)
        assert again.status == 201 and again.json["principal"]["id"] == person["person_id"], again


async def test_someone_not_registered_is_told_to_register(api: Api, provider: OidcProvider) -> None:
    provider.reset(User(sub=f"e2e-{uuid.uuid4().hex}", id_number=ids.id_number()))
    reply = await _login(api)
    assert reply.status == 404 and reply.json["code"] == "account_not_found", reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")


async def test_a_forged_id_token_is_refused(api: Api, provider: OidcProvider) -> None:
    person = await ids.register_person(api)
    provider.reset(User(sub=f"e2e-{uuid.uuid4().hex}", id_number=person["id_number"]))
    provider.bad_signature = True
    reply = await _login(api)
    assert reply.status == 401 and reply.json["code"] == "oidc_login_refused", reply
    assert reply.json["reason"] == "signature"


async def _redirect_location(authorization_url: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(authorization_url, allow_redirects=False) as r:
        assert r.status == 302
        return r.headers["Location"]
