"""A revoked session is dead everywhere: through the gateway, and at every service reached
directly (a path around the gateway must not revive a logged-out token).

One platform (the session's), one enterprise, two sessions: the one logged out is refused by
the gateway and by each service itself with 401 ``token_revoked``; its message stream ends
with ``event: token_revoked``; the other session goes on working everywhere.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.sse import message_stream

pytestmark = pytest.mark.e2e

# One authenticated GET per service (each takes an enterprise token).
PROBES = {
    "identity": "/api/v1/me",
    "agents": "/api/v1/agents",
    "certs": "/api/v1/certificate",
    "seals": "/api/v1/seals",
    "stamping": "/api/v1/usage-records",
    "notify": "/api/v1/messages",
}


async def refused(api: Api, url: str, token: str, within: float = 5.0) -> Reply:
    """The first 401 within ``within`` seconds (revocation travels as an event), else the last."""
    deadline = time.monotonic() + within
    while True:
        r = await api.get(url, token=token)
        if r.status == 401 or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.05)


def code(r: Reply) -> tuple[int, str | None]:
    return r.status, (r.json or {}).get("code") if isinstance(r.json, dict) else None


async def test_a_logged_out_token_is_refused_by_the_gateway_and_by_every_service(
        api: Api, platform: Platform) -> None:
    ent = await ids.register_enterprise(api)
    out = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    kept = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    for service, path in PROBES.items():  # before: the session is let in, routed and direct
        for url in (path, platform.url(service) + path):
            r = await api.get(url, token=out["access_token"])
            assert r.status < 500 and r.status != 401, (url, r)  # certs: 404 not activated

    async with message_stream(platform.gateway_url, out["access_token"]) as stream:
        assert (await api.delete("/api/v1/sessions/current", token=out["access_token"])).status == 204
        event, _ = await asyncio.wait_for(stream.next_event(), 10)
        assert event == "token_revoked", stream.seen
        assert await asyncio.wait_for(stream.response.content.read(), 10) == b""  # ended

    for service, path in PROBES.items():
        routed = await refused(api, path, out["access_token"])
        assert code(routed) == (401, "token_revoked"), (service, routed)
        direct = await refused(api, platform.url(service) + path, out["access_token"])
        assert code(direct) == (401, "token_revoked"), (service, direct)
        for url in (path, platform.url(service) + path):
            r = await api.get(url, token=kept["access_token"])
            assert r.status < 500 and r.status != 401, (service, url, r)


async def test_a_replayed_refresh_token_ends_every_session_at_every_service(
        api: Api, platform: Platform) -> None:
    """Theft detected (a refresh token used twice): identity revokes every token of the
    person issued until then (not one session): each service refuses them itself."""
    person = await ids.register_person(api)
    session = await ids.login(api, "person", person["phone"], person["password"])
    refreshed = await api.post("/api/v1/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status == 201, refreshed
    replay = await api.post("/api/v1/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert replay.status == 401, replay
    for service, path in {"identity": "/api/v1/me", "seals": "/api/v1/my/enterprises",
                          "notify": "/api/v1/messages"}.items():
        direct = await refused(api, platform.url(service) + path, refreshed.json["access_token"])
        assert code(direct) == (401, "token_revoked"), (service, direct)


async def test_every_service_is_ready_only_with_its_revocation_list(api: Api, platform: Platform) -> None:
    """The platform started, so each process loaded the list (readiness includes it)."""
    for service in (*PROBES, "gateway"):
        r = await api.get(platform.url(service) + "/readyz")
        assert r.status == 200, (service, r)
