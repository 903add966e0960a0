"""A logged-out token sent straight to a service (not through the gateway) is refused by the
service itself: real identity and agents in-process, own databases and RabbitMQ vhost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from agents.bootstrap import MIGRATIONS as AGENTS_MIGRATIONS
from agents.bootstrap import create_app as create_agents
from agents.config import AgentsSettings
from aiohttp.test_utils import TestServer
from identity.bootstrap import MIGRATIONS as IDENTITY_MIGRATIONS
from identity.bootstrap import IdentitySettings
from identity.bootstrap import create_app as create_identity

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.listeners import add_internal_site
from shared.service import prepare_database
from tests.support import identities as ids
from tests.support.api import Api


@dataclass
class Pair:
    identity: Api  # identity itself
    agents: Api  # agents itself


@pytest_asyncio.fixture(scope="module")
async def pair() -> AsyncIterator[Pair]:
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_revoke_{run}", f"eseal_rv{run}_"
    ensure_vhost(vhost)
    common = {"env": "test", "db_prefix": prefix, "amqp_url": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
              "db_pool_max": 4}
    identity_settings = IdentitySettings(**common, test_fast_kdf=True)  # type: ignore[arg-type]
    await prepare_database(identity_settings, IDENTITY_MIGRATIONS)
    identity = TestServer(create_identity(identity_settings), host="127.0.0.1")
    await identity.start_server()
    identity_url = f"http://127.0.0.1:{identity.port}"
    assert identity.runner is not None
    identity_internal = await add_internal_site(identity.runner)
    agents_settings = AgentsSettings(**common, identity_url=identity_url,  # type: ignore[arg-type]
                                     identity_internal_url=identity_internal)
    await prepare_database(agents_settings, AGENTS_MIGRATIONS)
    agents = TestServer(create_agents(agents_settings), host="127.0.0.1")
    await agents.start_server()
    pair = Pair(Api(identity_url), Api(f"http://127.0.0.1:{agents.port}"))
    try:
        yield pair
    finally:
        await pair.identity.close()
        await pair.agents.close()
        await agents.close()
        await identity.close()
        await drop_databases(prefix)
        delete_vhost(vhost)


async def refused_within(api: Api, path: str, token: str, seconds: float) -> dict[str, object]:
    started = time.monotonic()
    while True:
        r = await api.get(path, token=token)
        if r.status == 401 or time.monotonic() - started > seconds:
            return {"status": r.status, "code": (r.json or {}).get("code")}
        await asyncio.sleep(0.05)


async def test_a_logged_out_token_is_refused_by_identity_and_by_agents_directly(pair: Pair) -> None:
    ent = await ids.register_enterprise(pair.identity)
    first = await ids.login(pair.identity, "enterprise", ent["uscc"], ent["password"])
    second = await ids.login(pair.identity, "enterprise", ent["uscc"], ent["password"])
    assert (await pair.agents.get("/api/v1/agents", token=first["access_token"])).status == 200
    assert (await pair.identity.delete("/api/v1/sessions/current",
                                       token=first["access_token"])).status == 204
    # identity: its own sessions table, at once, on every endpoint that takes a token
    me = await pair.identity.get("/api/v1/me", token=first["access_token"])
    assert (me.status, me.json["code"]) == (401, "token_revoked"), me
    face = await pair.identity.post("/api/v1/face-checks", token=first["access_token"],
                                    json={"purpose": "issue_seal"})
    assert (face.status, face.json["code"]) == (401, "token_revoked"), face
    # agents: from the SessionsRevoked event, with no gateway in front
    assert await refused_within(pair.agents, "/api/v1/agents", first["access_token"], 5) == \
        {"status": 401, "code": "token_revoked"}
    # the enterprise's other session lives on
    assert (await pair.agents.get("/api/v1/agents", token=second["access_token"])).status == 200
    assert (await pair.identity.get("/api/v1/me", token=second["access_token"])).status == 200
