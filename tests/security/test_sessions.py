"""A logged-out session is dead everywhere, including what was already open or can be renewed.

* an open message stream (SSE) of the session ends soon after the logout, through the
  gateway and on notify's own port;
* the session's refresh token no longer gives a new access token.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.sse import MessageStream, message_stream

from .conftest import World

pytestmark = pytest.mark.e2e

ENDS_WITHIN = 15.0  # seconds from logout to the end of the stream (events travel the bus)


async def stream_ends(stream: MessageStream) -> bool:
    """Whether the stream ends (or tells the session ended) within ``ENDS_WITHIN`` seconds."""
    async def read() -> bool:
        while True:
            try:
                event, data = await stream.next_event()
            except AssertionError:  # the stream ended
                return True
            if event in ("token_revoked", "session_ended") or (
                    isinstance(data, dict) and data.get("code") in ("token_revoked", "session_ended")):
                return True

    try:
        return await asyncio.wait_for(read(), ENDS_WITHIN)
    except TimeoutError:
        return False


@pytest.mark.parametrize("via", ["gateway", "notify"])
async def test_an_open_stream_ends_at_logout(api: Api, platform: Platform, world: World, via: str) -> None:
    session = await ids.login(api, "person", world.person.body["phone"], world.person.body["password"])
    token = session["access_token"]
    async with message_stream(platform.url(via), token) as stream:
        r = await api.delete("/api/v1/sessions/current", token=token)
        assert r.status == 204, r
        assert await stream_ends(stream), f"the stream outlived the logout; seen: {stream.seen!r}"


async def test_a_logged_out_sessions_refresh_token_is_dead(api: Api, world: World) -> None:
    session = await ids.login(api, "enterprise", world.ent_a.body["uscc"], world.ent_a.body["password"])
    r = await api.delete("/api/v1/sessions/current", token=session["access_token"])
    assert r.status == 204, r
    renewed = await api.post("/api/v1/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert renewed.status == 401, renewed
