"""Messages (消息提醒) and customer service (客服中心) on the whole platform, through the gateway.

The principals are real: registered and logged in through identity, agents added through the
agents service (whose events notify consumes). Seal, grant and stamp events are published
into the platform's vhost as the seals and stamping relays do, until those services emit
them from their own APIs. Tests that need a login skip while identity cannot log in.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from shared.catalog import (
    AgentAdded,
    AgentRemoved,
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    SealIssued,
    SealRevoked,
    StampApplied,
)
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.bus import Bus, connect_bus
from tests.support.polling import eventually
from tests.support.tokens import identity_ready

pytestmark = pytest.mark.e2e

ENTERPRISE = "长春市消息测试有限公司"
SEAL_NAME = f"{ENTERPRISE}合同专用章"


@pytest_asyncio.fixture(scope="module")
async def bus(platform: Platform) -> AsyncIterator[Bus]:
    async with connect_bus(platform.config.amqp_url) as b:
        yield b


@pytest_asyncio.fixture(scope="module")
async def notify_db(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}notify")
    yield conn
    await conn.close()


async def settle(db: asyncpg.Connection, *event_ids: uuid.UUID, within: float = 15.0) -> None:
    """Wait until notify has committed its handling of these events."""
    async def handled() -> bool:
        return await db.fetchval("SELECT count(*) FROM processed_events WHERE event_id = any($1::uuid[])",
                                 list(event_ids)) >= len(event_ids)

    await eventually(handled, within, what="notify's handling of the events")


async def messages(api: Api, token: str, **params: str) -> dict[str, Any]:
    r = await api.get("/api/v1/messages", token=token, params=params or None)
    assert r.status == 200, r
    return r.json  # type: ignore[no-any-return]


# runs without identity --------------------------------------------------------------------


async def test_support_is_public_through_the_gateway(api: Api) -> None:
    r = await api.get("/api/v1/support")
    assert r.status == 200, r
    assert set(r.json) == {"phone", "qq_group", "hours"}
    assert all(isinstance(v, str) and v for v in r.json.values())


async def test_messages_and_stream_need_a_login(api: Api) -> None:
    for path in ("/api/v1/messages", "/api/v1/messages/stream"):
        r = await api.get(path)
        assert r.status == 401, r
        assert r.json["code"] == "not_authenticated"
    assert (await api.post("/api/v1/messages/read-all")).status == 401


async def test_the_platform_notify_consumes_events_once(bus: Bus, notify_db: asyncpg.Connection) -> None:
    enterprise, agent = uuid.uuid4(), uuid.uuid4()
    added = await bus.publish(AgentAdded(agent_id=agent, enterprise_id=enterprise, name="李四",
                                         valid_from=date(2026, 1, 1), valid_to=date(2099, 1, 1),
                                         can_manage=True, added_by=enterprise), stream_id=agent)
    await bus.send(added)  # delivered twice
    await settle(notify_db, added.event_id)
    await asyncio.sleep(0.3)
    rows = await notify_db.fetch("SELECT kind, title FROM messages WHERE recipient_id = $1", agent)
    assert [(r["kind"], r["title"]) for r in rows] == [("agent_added", "经办人添加通知")]
    removed = await bus.publish(AgentRemoved(agent_id=agent, enterprise_id=enterprise,
                                             removed_by=enterprise), stream_id=agent)
    await settle(notify_db, removed.event_id)
    kinds = await notify_db.fetch("SELECT kind FROM messages WHERE recipient_id = $1 ORDER BY seq", agent)
    assert [r["kind"] for r in kinds] == ["agent_added", "agent_removed"]


# needs identity (real registration and login) ---------------------------------------------


@dataclass
class Login:
    principal_id: uuid.UUID
    access_token: str


async def _login(api: Api, role: str, username: str, password: str,
                 enterprise_uscc: str | None = None) -> Login:
    session = await ids.login(api, role, username, password, enterprise_uscc)
    return Login(uuid.UUID(session["principal"]["id"]), session["access_token"])


@pytest_asyncio.fixture(scope="module")
async def people(api: Api) -> dict[str, Any]:
    if not await identity_ready(api):
        pytest.skip("identity has no registration/login yet: the logged-in notify tests wait for it")
    ent = await ids.register_enterprise(api, name=ENTERPRISE)
    person = await ids.register_person(api, name="张三")
    other = await ids.register_person(api, name="赵六")
    return {
        "enterprise_body": ent,
        "enterprise": await _login(api, "enterprise", ent["uscc"], ent["password"]),
        "person": await _login(api, "person", person["phone"], person["password"]),
        "other": await _login(api, "person", other["phone"], other["password"]),
    }


async def test_each_rule_through_the_gateway(api: Api, bus: Bus, notify_db: asyncpg.Connection,
                                             people: dict[str, Any]) -> None:
    ent, person = people["enterprise"], people["person"]
    eid, pid = ent.principal_id, person.principal_id
    seal, grant = uuid.uuid4(), uuid.uuid4()
    events = [
        await bus.publish(SealIssued(seal_id=seal, enterprise_id=eid, type="contract", name=SEAL_NAME,
                                     image_sha256="0" * 64, certificate_serial="0A", issued_by=eid),
                          stream_id=seal),
    ]
    await settle(notify_db, *(e.event_id for e in events))
    for ev in [
        AuthorizationGranted(grant_id=grant, seal_id=seal, enterprise_id=eid, person_id=pid,
                             valid_from=date(2026, 1, 1), valid_to=date(2027, 11, 30), granted_by=eid),
        AuthorizationUpdated(grant_id=grant, seal_id=seal, enterprise_id=eid, person_id=pid,
                             valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31)),
    ]:
        env = await bus.publish(ev, stream_id=grant)
        await settle(notify_db, env.event_id)
    stamp = await bus.publish(StampApplied(
        record_id=uuid.uuid4(), request_id=uuid.uuid4(), seal_id=seal, enterprise_id=eid, person_id=pid,
        document_sha256="0" * 64, stamped_at=datetime.now(UTC), client_id="oa",
        document_title="采购合同"), stream_id=uuid.uuid4())
    revoked = await bus.publish(SealRevoked(seal_id=seal, enterprise_id=eid, revoked_by=eid,
                                            revoked_at=datetime.now(UTC)), stream_id=seal)
    await settle(notify_db, stamp.event_id, revoked.event_id)

    got = {i["kind"]: i for i in (await messages(api, ent.access_token))["items"]}
    assert set(got) == {"seal_issued", "grant_added", "grant_updated", "stamp_applied", "seal_revoked"}
    assert got["seal_issued"]["title"] == "新增印章通知" and SEAL_NAME in got["seal_issued"]["body"]
    assert "张三" in got["grant_added"]["body"]
    assert "《采购合同》" in got["stamp_applied"]["body"]
    assert got["seal_revoked"]["title"] == "印章作废通知"
    mine = [i["kind"] for i in (await messages(api, person.access_token))["items"]]
    assert mine == ["seal_revoked", "grant_updated", "grant_added"]
    grant_added = next(i for i in (await messages(api, person.access_token))["items"]
                       if i["kind"] == "grant_added")
    assert grant_added["body"].startswith(f"{ENTERPRISE}已授权您使用印章「{SEAL_NAME}」")

    removed = await bus.publish(AuthorizationRevoked(grant_id=grant, seal_id=seal, enterprise_id=eid,
                                                     person_id=pid, revoked_by=eid), stream_id=grant)
    await settle(notify_db, removed.event_id)
    assert (await messages(api, person.access_token))["items"][0]["kind"] == "grant_removed"
    assert (await messages(api, people["other"].access_token))["items"] == []


async def test_read_one_read_all_and_someone_elses_message(api: Api, bus: Bus,
                                                           notify_db: asyncpg.Connection,
                                                           people: dict[str, Any]) -> None:
    person, other = people["person"], people["other"]
    eid = people["enterprise"].principal_id
    for _ in range(2):
        grant = uuid.uuid4()
        env = await bus.publish(AuthorizationGranted(
            grant_id=grant, seal_id=uuid.uuid4(), enterprise_id=eid, person_id=other.principal_id,
            valid_from=date(2026, 1, 1), valid_to=date(2027, 1, 1), granted_by=eid), stream_id=grant)
        await settle(notify_db, env.event_id)
    body = await messages(api, other.access_token, unread_only="true")
    assert body["unread_count"] == len(body["items"]) >= 2
    first = body["items"][0]["message_id"]
    r = await api.post(f"/api/v1/messages/{first}/read", token=person.access_token)
    assert r.status == 404 and r.json["code"] == "message_not_found"
    assert (await api.post(f"/api/v1/messages/{first}/read", token=other.access_token)).status == 204
    after = await messages(api, other.access_token)
    assert after["unread_count"] == body["unread_count"] - 1
    assert (await api.post("/api/v1/messages/read-all", token=other.access_token)).status == 204
    assert (await messages(api, other.access_token, unread_only="true"))["unread_count"] == 0


async def test_a_message_is_pushed_over_sse_through_the_gateway(
        platform: Platform, bus: Bus, people: dict[str, Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    ent = people["enterprise"]
    latencies = []
    headers = {"Authorization": f"Bearer {ent.access_token}", "Accept": "text/event-stream"}
    async with aiohttp.ClientSession() as http, http.get(
            platform.gateway_url + "/api/v1/messages/stream", headers=headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=30)) as r:
        assert r.status == 200 and r.content_type == "text/event-stream"
        assert (await _next_event(r))[0] == "ready"
        for i in range(5):
            seal = uuid.uuid4()
            started = time.perf_counter()
            await bus.publish(SealIssued(seal_id=seal, enterprise_id=ent.principal_id, type="contract",
                                         name=f"推送章{i}", image_sha256="0" * 64,
                                         certificate_serial="0B", issued_by=ent.principal_id),
                              stream_id=seal)
            event, data = await _next_event(r)
            latencies.append((time.perf_counter() - started) * 1000)
            assert event == "message" and f"推送章{i}" in data["body"]
    with capsys.disabled():
        print(f"\n[notify e2e] push latency, publish -> SSE client via gateway (ms): "
              f"{', '.join(f'{x:.1f}' for x in latencies)}")


async def _next_event(r: aiohttp.ClientResponse, within: float = 15.0) -> tuple[str, Any]:
    async def read() -> tuple[str, Any]:
        fields: dict[str, str] = {}
        while True:
            line = (await r.content.readline()).decode().rstrip("\r\n")
            if line == "" and "data" in fields:
                return fields.get("event", "message"), json.loads(fields["data"])
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    return await asyncio.wait_for(read(), within)


async def test_an_agent_added_through_the_api_is_told_and_hears_of_seals_then_of_removal(
        api: Api, bus: Bus, notify_db: asyncpg.Connection, people: dict[str, Any]) -> None:
    """The real agents service emits AgentAdded/AgentRemoved; notify tells the agent."""
    ent, body = people["enterprise"], people["enterprise_body"]
    probe = await api.get("/api/v1/agents", token=ent.access_token)
    if probe.status in (404, 405, 501, 503):
        pytest.skip("the agents service cannot add agents yet")
    agent = await ids.add_agent(api, ent.access_token, can_manage=True)
    session = await _login(api, "agent", agent["phone"], agent["password"], body["uscc"])
    items = await _wait_for_kinds(api, session.access_token, {"agent_added"})
    added = items["agent_added"]
    assert added["title"] == "经办人添加通知"
    assert added["body"].startswith(f"{ENTERPRISE}已将您添加为经办人，有效期 {agent['valid_from']} 至 "
                                    f"{agent['valid_to']}，可维护企业电子印章")
    seal = uuid.uuid4()
    issued = await bus.publish(SealIssued(seal_id=seal, enterprise_id=ent.principal_id, type="finance",
                                          name=f"{ENTERPRISE}财务专用章", image_sha256="0" * 64,
                                          certificate_serial="0C", issued_by=session.principal_id),
                               stream_id=seal)
    await settle(notify_db, issued.event_id)
    assert "seal_issued" in await _wait_for_kinds(api, session.access_token, {"seal_issued"})
    assert (await api.delete(f"/api/v1/agents/{agent['agent_id']}", token=ent.access_token)).status == 204
    await eventually(lambda: notify_db.fetchval("SELECT count(*) FROM messages WHERE recipient_id = $1"
                                                " AND kind = 'agent_removed'", session.principal_id),
                     15, what="an agent_removed message")


async def _wait_for_kinds(api: Api, token: str, kinds: set[str], within: float = 15.0) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def arrived() -> dict[str, Any] | None:
        seen.clear()
        seen.update({i["kind"]: i for i in (await messages(api, token))["items"]})
        return dict(seen) if kinds <= set(seen) else None

    return await eventually(arrived, within, every=0.1, what=f"messages of kinds {sorted(kinds)}",
                            last=lambda: sorted(seen))
