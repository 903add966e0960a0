"""Contract of the agents service's ports: each check runs against the in-memory fake
(``tests/support/fakes/agents.py``) and against the real adapter, so the service-layer
tests on the fakes mean something (as pyeventsourcing runs one suite over its recorders).

* ``AgentStorage``: ``FakeAgentStorage`` and ``PgAgentStorage`` (its own PostgreSQL database).
* ``IdentityGateway``: ``FakeIdentity`` and ``HttpIdentity`` calling a real identity
  in-process (its own database and RabbitMQ vhost).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from agents.adapters.identity import HttpIdentity
from agents.adapters.repository import PgAgentStorage
from agents.bootstrap import MIGRATIONS as AGENTS_MIGRATIONS
from agents.domain import agent as rules
from agents.domain.commands import AddAgent
from agents.domain.errors import AgentExists
from agents.projections.agent_list import AgentListProjection
from agents.service_layer.ports import AgentStorage, IdentityGateway
from aiohttp.test_utils import TestServer
from identity.bootstrap import MIGRATIONS as IDENTITY_MIGRATIONS
from identity.bootstrap import IdentitySettings
from identity.bootstrap import create_app as create_identity

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.db import create_pool, ensure_database, migrate
from shared.errors import ConcurrencyError, EsealError
from shared.eventstore import EventStore
from shared.internal import ServiceClient
from shared.listeners import add_internal_site
from shared.service import prepare_database
from shared.settings import DEVELOPMENT_INTERNAL_SECRET
from shared.unit_of_work import Database
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.fakes.agents import FakeAgentStorage, FakeIdentity

PG_URL = "postgresql://postgres@127.0.0.1:5432"
RUN = uuid.uuid4().hex[:8]
PREFIX = f"eseal_ac{RUN}_"


@pytest_asyncio.fixture(scope="module")
async def pg_storage() -> AsyncIterator[PgAgentStorage]:
    name = f"{PREFIX}agents"
    await ensure_database(PG_URL, name)
    await migrate(f"{PG_URL}/{name}", AGENTS_MIGRATIONS)
    pool = await create_pool(f"{PG_URL}/{name}", max_size=4)
    try:
        yield PgAgentStorage(Database(pool, EventStore("agents"), (AgentListProjection(),)))
    finally:
        await asyncio.wait_for(pool.close(), 10)
        await drop_databases(PREFIX)


@pytest.fixture(params=["fake", "postgres"])
def storage(request: pytest.FixtureRequest, pg_storage: PgAgentStorage) -> AgentStorage:
    return FakeAgentStorage() if request.param == "fake" else pg_storage


def _added(enterprise_id: uuid.UUID, agent_id: uuid.UUID | None = None) -> Any:
    body = ids.agent()
    cmd = AddAgent.model_validate({**body, "face_token": "t"})
    return rules.added(agent_id or uuid.uuid4(), enterprise_id, enterprise_id, cmd)


# AgentStorage ---------------------------------------------------------------------------


async def test_an_appended_agent_is_folded_and_listed(storage: AgentStorage) -> None:
    enterprise_id = uuid.uuid4()
    added = _added(enterprise_id)
    async with storage.transaction() as repo:
        await repo.append(added.agent_id, 0, [added])
    async with storage.connection() as repo:
        agent = await repo.get(added.agent_id)
        row = await repo.list_row(added.agent_id)
        assert await repo.get(uuid.uuid4()) is None
        assert await repo.list_row(uuid.uuid4()) is None
    assert agent is not None and (agent.version, agent.enterprise_id) == (1, enterprise_id)
    assert row is not None
    assert (row["agent_id"], row["name"], row["phone_masked"], row["valid_to"]) == \
        (added.agent_id, added.name, added.phone_masked, added.valid_to)
    assert set(row) == {"agent_id", "name", "id_type", "id_number_masked", "phone_masked",
                        "id_valid_from", "id_valid_to", "id_long_term", "valid_from", "valid_to",
                        "can_manage", "added_at"}


async def test_update_and_remove_reach_the_fold_and_the_list(storage: AgentStorage) -> None:
    enterprise_id = uuid.uuid4()
    added = _added(enterprise_id)
    async with storage.transaction() as repo:
        await repo.append(added.agent_id, 0, [added])
    agent = rules.fold([added])
    assert agent is not None
    update = rules.updated(agent, None, added.valid_to + timedelta(days=1), not added.can_manage)
    assert update is not None
    async with storage.transaction() as repo:
        await repo.append(added.agent_id, 1, [update])
        row = await repo.list_row(added.agent_id)
        assert row is not None and row["can_manage"] is not added.can_manage
        await repo.append(added.agent_id, 2, [rules.removed(agent, enterprise_id)])
    async with storage.connection() as repo:
        gone = await repo.get(added.agent_id)
        assert gone is not None and gone.removed and gone.version == 3
        assert await repo.list_row(added.agent_id) is None
        assert await repo.list_page(enterprise_id, 10, None) == []


async def test_a_stale_version_conflicts_and_writes_nothing(storage: AgentStorage) -> None:
    added = _added(uuid.uuid4())
    async with storage.transaction() as repo:
        await repo.append(added.agent_id, 0, [added])
    agent = rules.fold([added])
    assert agent is not None
    for version in (0, 2):
        with pytest.raises(ConcurrencyError):
            async with storage.transaction() as repo:
                await repo.append(added.agent_id, version, [rules.password_changed(agent)])
    async with storage.connection() as repo:
        assert (await repo.get(added.agent_id)) == agent


async def test_a_failed_transaction_leaves_nothing(storage: AgentStorage) -> None:
    enterprise_id = uuid.uuid4()
    added = _added(enterprise_id)
    with pytest.raises(RuntimeError):
        async with storage.transaction() as repo:
            await repo.append(added.agent_id, 0, [added])
            await repo.insert_elements(added.agent_id, enterprise_id, "110105194912310021", "13800138000")
            raise RuntimeError("identity refused")
    async with storage.connection() as repo:
        assert await repo.get(added.agent_id) is None
        assert await repo.list_row(added.agent_id) is None
        assert await repo.taken_field(enterprise_id, "110105194912310021", "13800138000") is None


async def test_elements_are_unique_among_an_enterprises_current_agents(storage: AgentStorage) -> None:
    enterprise_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with storage.transaction() as repo:
        await repo.insert_elements(first, enterprise_id, "N1", "P1")
    async with storage.connection() as repo:
        assert await repo.taken_field(enterprise_id, "N1", "P9") == "id_number"
        assert await repo.taken_field(enterprise_id, "N9", "P1") == "phone"
        assert await repo.taken_field(enterprise_id, "N9", "P9") is None
        assert await repo.taken_field(uuid.uuid4(), "N1", "P1") is None
    for number, phone, field in (("N1", "P2", "id_number"), ("N2", "P1", "phone")):
        with pytest.raises(AgentExists) as refused:
            async with storage.transaction() as repo:
                await repo.insert_elements(second, enterprise_id, number, phone)
        assert refused.value.errors[0]["field"] == field
    async with storage.transaction() as repo:
        await repo.insert_elements(uuid.uuid4(), uuid.uuid4(), "N1", "P1")  # another enterprise
        await repo.release_elements(first)
        await repo.insert_elements(second, enterprise_id, "N1", "P1")  # released: free again
    async with storage.connection() as repo:
        assert await repo.taken_field(enterprise_id, "N1", "P1") == "id_number"


async def test_the_list_pages_newest_first_within_the_enterprise(storage: AgentStorage) -> None:
    enterprise_id = uuid.uuid4()
    agents = [_added(enterprise_id) for _ in range(3)]
    for added in agents:
        async with storage.transaction() as repo:
            await repo.append(added.agent_id, 0, [added])
    async with storage.transaction() as repo:
        other = _added(uuid.uuid4())
        await repo.append(other.agent_id, 0, [other])
    async with storage.connection() as repo:
        first = await repo.list_page(enterprise_id, 2, None)
        rest = await repo.list_page(enterprise_id, 2, (first[-1]["added_at"], first[-1]["agent_id"]))
    assert [r["agent_id"] for r in first + rest] == [a.agent_id for a in reversed(agents)]


# IdentityGateway ------------------------------------------------------------------------


@dataclass
class IdentitySide:
    """A gateway and how to set up what its checks need on that side."""

    gateway: IdentityGateway
    new_enterprise: Callable[[], Awaitable[uuid.UUID]]
    face_token: Callable[[uuid.UUID], Awaitable[str]]  # a passed add_agent check of the enterprise


@pytest_asyncio.fixture(scope="module")
async def http_identity() -> AsyncIterator[IdentitySide]:
    vhost, prefix = f"eseal_ac_{RUN}", f"eseal_ai{RUN}_"
    ensure_vhost(vhost)
    settings = IdentitySettings(env="test", db_prefix=prefix, db_pool_max=4,  # type: ignore[arg-type]
                                amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                                test_fast_kdf=True)
    await prepare_database(settings, IDENTITY_MIGRATIONS)
    server = TestServer(create_identity(settings), host="127.0.0.1")
    await server.start_server()
    assert server.runner is not None
    internal = await add_internal_site(server.runner)
    api = Api(f"http://127.0.0.1:{server.port}")
    session = aiohttp.ClientSession()
    client = ServiceClient(session, internal, source="agents", target="identity",
                           secret=DEVELOPMENT_INTERNAL_SECRET)
    access: dict[uuid.UUID, str] = {}

    async def new_enterprise() -> uuid.UUID:
        ent = await ids.register_enterprise(api)
        enterprise_id = uuid.UUID(ent["enterprise_id"])
        tokens = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
        access[enterprise_id] = tokens["access_token"]
        return enterprise_id

    async def face_token(enterprise_id: uuid.UUID) -> str:
        return await ids.face_token(api, access[enterprise_id], "add_agent")

    try:
        yield IdentitySide(HttpIdentity(client), new_enterprise, face_token)
    finally:
        await session.close()
        await api.close()
        await server.close()
        await drop_databases(prefix)
        delete_vhost(vhost)


def _fake_identity() -> IdentitySide:
    fake = FakeIdentity()

    async def new_enterprise() -> uuid.UUID:
        enterprise_id = uuid.uuid4()
        fake.enterprises.add(enterprise_id)
        return enterprise_id

    async def face_token(enterprise_id: uuid.UUID) -> str:
        token = uuid.uuid4().hex
        fake.face_tokens[token] = (enterprise_id, "add_agent")
        return token

    return IdentitySide(fake, new_enterprise, face_token)


@pytest.fixture(params=["fake", "http"])
def identity(request: pytest.FixtureRequest) -> IdentitySide:
    if request.param == "fake":
        return _fake_identity()
    side: IdentitySide = request.getfixturevalue("http_identity")
    return side


async def _refused(call: Awaitable[None]) -> tuple[int, str]:
    with pytest.raises(EsealError) as refused:
        await call
    return refused.value.status, refused.value.code


def _login(enterprise_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body = ids.agent()
    login = {k: body[k] for k in ("name", "id_type", "id_number", "phone", "password", "valid_from",
                                  "valid_to", "can_manage")}
    return {**login, "enterprise_id": str(enterprise_id), **overrides}


async def test_a_login_is_created_once_and_a_retry_is_fine(identity: IdentitySide) -> None:
    gateway, enterprise_id, agent_id = identity.gateway, await identity.new_enterprise(), uuid.uuid4()
    login = _login(enterprise_id)
    await gateway.create_login(agent_id, login)
    await gateway.create_login(agent_id, login)  # agents retries after a timeout
    assert await _refused(gateway.create_login(agent_id, {**login, "phone": ids.phone()})) == \
        (409, "agent_exists")
    assert await _refused(gateway.create_login(uuid.uuid4(), _login(enterprise_id, phone=login["phone"]))) \
        == (409, "agent_exists")
    assert await _refused(gateway.create_login(uuid.uuid4(), _login(uuid.uuid4()))) == \
        (422, "enterprise_not_found")


async def test_update_password_and_remove_need_a_live_login(identity: IdentitySide) -> None:
    gateway, enterprise_id, agent_id = identity.gateway, await identity.new_enterprise(), uuid.uuid4()
    today = date.today()
    await gateway.create_login(agent_id, _login(enterprise_id))
    await gateway.update_login(agent_id, today, today + timedelta(days=30), False)
    await gateway.set_password(agent_id, ids.password())
    await gateway.remove_login(agent_id)
    await gateway.remove_login(agent_id)  # removing twice is fine
    await gateway.remove_login(uuid.uuid4())  # so is removing an unknown login
    for call in (gateway.update_login(agent_id, today, today, True),
                 gateway.set_password(agent_id, ids.password()),
                 gateway.update_login(uuid.uuid4(), today, today, True)):
        assert await _refused(call) == (404, "agent_not_found")


async def test_a_face_token_is_used_once_by_its_subject_for_its_purpose(identity: IdentitySide) -> None:
    gateway, enterprise_id = identity.gateway, await identity.new_enterprise()
    token = await identity.face_token(enterprise_id)
    assert await _refused(gateway.consume_face_token(token, uuid.uuid4(), "add_agent")) == \
        (403, "face_token_mismatch")
    assert await _refused(gateway.consume_face_token(token, enterprise_id, "issue_seal")) == \
        (403, "face_token_mismatch")
    await gateway.consume_face_token(token, enterprise_id, "add_agent")  # a mismatch did not use it
    assert await _refused(gateway.consume_face_token(token, enterprise_id, "add_agent")) == \
        (409, "face_token_used")
    assert await _refused(gateway.consume_face_token("no-such-token", enterprise_id, "add_agent")) == \
        (422, "face_token_invalid")
