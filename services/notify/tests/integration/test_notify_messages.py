"""notify end to end in-process: events in through RabbitMQ, messages out through the gateway."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from notify.bootstrap import create_app

from shared.catalog import (
    AgentAdded,
    AgentRemoved,
    AgentUpdated,
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    EnterpriseRegistered,
    PersonRegistered,
    SealIssued,
    SealRevoked,
    SessionsRevoked,
    StampApplied,
)
from tests.support.harnesses.notify import Notify, open_stream
from tests.support.polling import eventually

ENTERPRISE_NAME = "长春市测试科技有限公司"
FROM, TO = date(2026, 1, 1), date(2099, 12, 31)


@dataclass
class World:
    """An enterprise with a managing and a viewing agent, two persons, and their tokens."""

    enterprise: uuid.UUID
    enterprise_token: str
    manager: uuid.UUID
    manager_token: str
    viewer: uuid.UUID
    viewer_token: str
    person: uuid.UUID
    person_token: str
    other_person: uuid.UUID
    other_person_token: str


async def make_world(n: Notify) -> World:
    ent, _ = n.signer.enterprise(name=ENTERPRISE_NAME)
    manager, viewer = uuid.uuid4(), uuid.uuid4()
    person, other = uuid.uuid4(), uuid.uuid4()
    envs = [
        await n.bus.publish(EnterpriseRegistered(enterprise_id=ent.id, name=ENTERPRISE_NAME,
                                                 uscc="91220102MA0000000X",
                                                 legal_representative_name="王五"),
                            stream_id=ent.id),
        await n.bus.publish(PersonRegistered(person_id=person, name="张三", id_number_masked="****1234",
                                             person_key="k1"), stream_id=person),
        await n.bus.publish(PersonRegistered(person_id=other, name="赵六", id_number_masked="****5678",
                                             person_key="k2"), stream_id=other),
    ]
    await n.processed(*envs)  # names first, so that the agents' messages carry them
    agents = [
        await n.bus.publish(AgentAdded(agent_id=manager, enterprise_id=ent.id, name="李四",
                                       valid_from=FROM, valid_to=TO, can_manage=True,
                                       added_by=ent.id), stream_id=manager),
        await n.bus.publish(AgentAdded(agent_id=viewer, enterprise_id=ent.id, name="钱七",
                                       valid_from=FROM, valid_to=TO, can_manage=False,
                                       added_by=ent.id), stream_id=viewer),
    ]
    await n.processed(*agents)
    return World(ent.id, n.signer.token(ent), manager, n.signer.agent(ent.id, manager)[1],
                 viewer, n.signer.agent(ent.id, viewer, can_manage=False)[1],
                 person, n.signer.person(person)[1], other, n.signer.person(other, "赵六")[1])


async def issue_seal(n: Notify, w: World, name: str = f"{ENTERPRISE_NAME}合同专用章") -> uuid.UUID:
    seal = uuid.uuid4()
    env = await n.bus.publish(SealIssued(seal_id=seal, enterprise_id=w.enterprise, type="contract",
                                         name=name, image_sha256="0" * 64, certificate_serial="0A",
                                         issued_by=w.enterprise), stream_id=seal)
    await n.processed(env)
    return seal


async def grant(n: Notify, w: World, seal: uuid.UUID, person: uuid.UUID,
                valid_to: date = TO) -> uuid.UUID:
    grant_id = uuid.uuid4()
    env = await n.bus.publish(AuthorizationGranted(grant_id=grant_id, seal_id=seal,
                                                   enterprise_id=w.enterprise, person_id=person,
                                                   valid_from=FROM, valid_to=valid_to,
                                                   granted_by=w.manager), stream_id=grant_id)
    await n.processed(env)
    return grant_id


def kinds(items: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [i["kind"] for i in items]


# each rule ------------------------------------------------------------------------------


async def test_agent_added_and_removed_reach_the_agent_only(notify: Notify) -> None:
    w = await make_world(notify)
    items = await notify.wait_for(w.manager_token, 1)
    assert kinds(items) == ["agent_added"]
    assert items[0]["title"] == "经办人添加通知"
    assert items[0]["body"].startswith(
        f"{ENTERPRISE_NAME}已将您添加为经办人，有效期 2026-01-01 至 2099-12-31")
    assert "可维护企业电子印章" in items[0]["body"]
    assert "可查看企业电子印章" in (await notify.wait_for(w.viewer_token, 1))[0]["body"]
    env = await notify.bus.publish(AgentRemoved(agent_id=w.viewer, enterprise_id=w.enterprise,
                                                removed_by=w.enterprise), stream_id=w.viewer)
    await notify.processed(env)
    items = await notify.wait_for(w.viewer_token, 2)
    assert kinds(items) == ["agent_removed", "agent_added"]
    assert items[0]["title"] == "经办人移除通知" and "移出经办人" in items[0]["body"]
    assert (await notify.messages(w.enterprise_token))["items"] == []


async def test_seal_issued_reaches_the_enterprise_and_its_managing_agents(notify: Notify) -> None:
    w = await make_world(notify)
    await issue_seal(notify, w)
    for token in (w.enterprise_token, w.manager_token):
        items = (await notify.messages(token))["items"]
        assert kinds(items)[0] == "seal_issued"
        assert items[0]["title"] == "新增印章通知"
        assert f"您企业的印章「{ENTERPRISE_NAME}合同专用章」已于" in items[0]["body"]
    assert kinds((await notify.messages(w.viewer_token))["items"]) == ["agent_added"]
    assert (await notify.messages(w.person_token))["items"] == []


async def test_seal_revoked_reaches_the_enterprise_managers_and_current_grantees(notify: Notify) -> None:
    w = await make_world(notify)
    seal = await issue_seal(notify, w)
    await grant(notify, w, seal, w.person)
    removed = await grant(notify, w, seal, w.other_person)
    env = await notify.bus.publish(AuthorizationRevoked(grant_id=removed, seal_id=seal,
                                                        enterprise_id=w.enterprise,
                                                        person_id=w.other_person,
                                                        revoked_by=w.enterprise), stream_id=removed)
    await notify.processed(env)
    revoked_at = datetime(2026, 11, 29, 8, 45, tzinfo=UTC)
    env = await notify.bus.publish(SealRevoked(seal_id=seal, enterprise_id=w.enterprise,
                                               revoked_by=w.enterprise, revoked_at=revoked_at),
                                   stream_id=seal)
    await notify.processed(env)
    expected = (f"您企业的印章「{ENTERPRISE_NAME}合同专用章」已于 2026-11-29 16:45 作废，"
                "被授权人将无法继续使用。")
    for token in (w.enterprise_token, w.manager_token):
        top = (await notify.messages(token))["items"][0]
        assert (top["kind"], top["title"], top["body"]) == ("seal_revoked", "印章作废通知", expected)
    top = (await notify.messages(w.person_token))["items"][0]
    assert top["kind"] == "seal_revoked"
    assert top["body"] == (f"{ENTERPRISE_NAME}授权您使用的印章「{ENTERPRISE_NAME}合同专用章」"
                           "已于 2026-11-29 16:45 作废，您将无法继续使用该印章。")
    assert "seal_revoked" not in kinds((await notify.messages(w.other_person_token))["items"])
    assert "seal_revoked" not in kinds((await notify.messages(w.viewer_token))["items"])


async def test_a_revocation_that_deletes_the_grants_still_tells_the_grantees_once(notify: Notify) -> None:
    w = await make_world(notify)
    seal = await issue_seal(notify, w)
    grant_id = await grant(notify, w, seal, w.person)
    corr = uuid.uuid4().hex  # one command: the seal revoked and its grants deleted
    revoked = await notify.bus.publish(
        SealRevoked(seal_id=seal, enterprise_id=w.enterprise, revoked_by=w.enterprise,
                    revoked_at=datetime.now(UTC)), stream_id=seal, correlation_id=corr)
    await notify.processed(revoked)
    deleted = await notify.bus.publish(
        AuthorizationRevoked(grant_id=grant_id, seal_id=seal, enterprise_id=w.enterprise,
                             person_id=w.person, revoked_by=w.enterprise),
        stream_id=grant_id, correlation_id=corr)
    await notify.processed(deleted)
    assert kinds((await notify.messages(w.person_token))["items"]) == ["seal_revoked", "grant_added"]


async def test_grant_added_changed_removed_reach_the_person_and_the_enterprise(notify: Notify) -> None:
    w = await make_world(notify)
    seal = await issue_seal(notify, w)
    grant_id = await grant(notify, w, seal, w.person, valid_to=date(2027, 11, 30))
    person = (await notify.messages(w.person_token))["items"][0]
    assert (person["kind"], person["title"]) == ("grant_added", "印章授权通知")
    assert person["body"] == (f"{ENTERPRISE_NAME}已授权您使用印章「{ENTERPRISE_NAME}合同专用章」，"
                              "有效期 2026-01-01 至 2027-11-30。")
    ent = (await notify.messages(w.enterprise_token))["items"][0]
    assert ent["kind"] == "grant_added"
    assert ent["body"] == (f"您企业已授权张三使用印章「{ENTERPRISE_NAME}合同专用章」，"
                           "有效期 2026-01-01 至 2027-11-30。")
    env = await notify.bus.publish(AuthorizationUpdated(grant_id=grant_id, seal_id=seal,
                                                        enterprise_id=w.enterprise,
                                                        person_id=w.person, valid_from=FROM,
                                                        valid_to=date(2026, 12, 31)),
                                   stream_id=grant_id)
    await notify.processed(env)
    for token in (w.person_token, w.enterprise_token):
        top = (await notify.messages(token))["items"][0]
        assert (top["kind"], top["title"]) == ("grant_updated", "印章授权变更通知")
        assert "2026-01-01 至 2026-12-31" in top["body"]
    env = await notify.bus.publish(AuthorizationRevoked(grant_id=grant_id, seal_id=seal,
                                                        enterprise_id=w.enterprise,
                                                        person_id=w.person,
                                                        revoked_by=w.manager), stream_id=grant_id)
    await notify.processed(env)
    for token in (w.person_token, w.enterprise_token):
        top = (await notify.messages(token))["items"][0]
        assert (top["kind"], top["title"]) == ("grant_removed", "印章授权取消通知")
    assert "grant_added" not in kinds((await notify.messages(w.manager_token))["items"])


async def test_stamp_applied_reaches_the_enterprise(notify: Notify) -> None:
    w = await make_world(notify)
    seal = await issue_seal(notify, w)
    env = await notify.bus.publish(StampApplied(
        record_id=uuid.uuid4(), request_id=uuid.uuid4(), seal_id=seal, enterprise_id=w.enterprise,
        person_id=w.person, document_sha256="0" * 64,
        stamped_at=datetime(2026, 11, 29, 2, 5, tzinfo=UTC), client_id="oa",
        document_title="采购合同"), stream_id=uuid.uuid4())
    await notify.processed(env)
    top = (await notify.messages(w.enterprise_token))["items"][0]
    assert (top["kind"], top["title"]) == ("stamp_applied", "印章使用通知")
    assert top["body"] == (f"您企业的印章「{ENTERPRISE_NAME}合同专用章」已于 2026-11-29 10:05 "
                           "由张三用于文件《采购合同》盖章。")
    assert (await notify.messages(w.person_token))["items"] == []
    assert "stamp_applied" not in kinds((await notify.messages(w.manager_token))["items"])


async def test_agent_events_out_of_order_never_resurrect_a_removed_agent(notify: Notify) -> None:
    w = await make_world(notify)
    late = uuid.uuid4()
    removed = await notify.bus.publish(AgentRemoved(agent_id=late, enterprise_id=w.enterprise,
                                                    removed_by=w.enterprise), stream_id=late, version=3)
    await notify.processed(removed)
    stale = [
        await notify.bus.publish(AgentAdded(agent_id=late, enterprise_id=w.enterprise, name="孙八",
                                            valid_from=FROM, valid_to=TO, can_manage=False,
                                            added_by=w.enterprise), stream_id=late, version=1),
        await notify.bus.publish(AgentUpdated(agent_id=late, enterprise_id=w.enterprise,
                                              valid_from=FROM, valid_to=TO, can_manage=True),
                                 stream_id=late, version=2),
    ]
    await notify.processed(*stale)
    await issue_seal(notify, w)
    assert await notify.sql_value("SELECT count(*) FROM messages WHERE recipient_id = $1"
                                  " AND kind = 'seal_issued'", late) == 0
    assert await notify.sql_value("SELECT removed FROM agents WHERE agent_id = $1", late) is True


# idempotency ----------------------------------------------------------------------------


async def test_the_same_event_delivered_twice_makes_one_message(notify: Notify) -> None:
    w = await make_world(notify)
    seal = uuid.uuid4()
    env = await notify.bus.publish(SealIssued(seal_id=seal, enterprise_id=w.enterprise, type="official",
                                              name="公章", image_sha256="0" * 64,
                                              certificate_serial="0B", issued_by=w.enterprise),
                                   stream_id=seal)
    await notify.bus.send(env)
    await notify.processed(env)
    await asyncio.sleep(0.3)  # the second delivery has been handled too by now
    count = "SELECT count(*) FROM messages WHERE event_id = $1 AND recipient_id = $2"
    assert await notify.sql_value(count, env.event_id, w.enterprise) == 1
    # Even with the tracking row gone (a replayed queue), the unique constraint holds.
    await notify.sql_value("DELETE FROM processed_events WHERE event_id = $1", env.event_id)
    await notify.bus.send(env)
    await notify.processed(env)
    assert await notify.sql_value(count, env.event_id, w.enterprise) == 1
    assert kinds((await notify.messages(w.enterprise_token))["items"]).count("seal_issued") == 1


# the API --------------------------------------------------------------------------------


async def test_list_unread_read_one_read_all(notify: Notify) -> None:
    w = await make_world(notify)
    for name in ("合同专用章", "财务专用章", "公章"):
        await issue_seal(notify, w, name)
    body = await notify.messages(w.enterprise_token)
    assert body["unread_count"] == 3 and body["next_cursor"] is None
    assert [i["read"] for i in body["items"]] == [False] * 3
    assert set(body["items"][0]) == {"message_id", "kind", "title", "body", "created_at", "read"}
    assert body["items"][0]["created_at"].endswith("Z")
    first = body["items"][0]["message_id"]
    assert (await notify.post(f"/api/v1/messages/{first}/read", w.enterprise_token))[0] == 204
    assert (await notify.post(f"/api/v1/messages/{first}/read", w.enterprise_token))[0] == 204
    body = await notify.messages(w.enterprise_token)
    assert body["unread_count"] == 2 and body["items"][0]["read"] is True
    unread = await notify.messages(w.enterprise_token, unread_only="true")
    assert len(unread["items"]) == 2 and first not in {i["message_id"] for i in unread["items"]}
    assert unread["unread_count"] == 2
    assert len((await notify.messages(w.enterprise_token, unread_only="false"))["items"]) == 3
    assert (await notify.post("/api/v1/messages/read-all", w.enterprise_token))[0] == 204
    body = await notify.messages(w.enterprise_token, unread_only="true")
    assert body == {"items": [], "next_cursor": None, "unread_count": 0}


async def test_pages_follow_the_cursor_without_overlap(notify: Notify) -> None:
    w = await make_world(notify)
    for i in range(5):
        await issue_seal(notify, w, f"印章{i}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = await notify.messages(w.enterprise_token, **params)
        seen += [i["body"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 == len(set(seen))
    assert "印章「印章4」" in seen[0] and "印章「印章0」" in seen[-1]  # newest first
    status, problem = await notify.get("/api/v1/messages?cursor=nonsense", w.enterprise_token)
    assert status == 422 and problem["code"] == "invalid_cursor"
    status, problem = await notify.get("/api/v1/messages?limit=101", w.enterprise_token)
    assert status == 422 and problem["errors"][0]["field"] == "limit"


async def test_someone_elses_message_is_not_found(notify: Notify) -> None:
    w = await make_world(notify)
    mine = (await notify.wait_for(w.manager_token, 1))[0]["message_id"]
    status, problem = await notify.post(f"/api/v1/messages/{mine}/read", w.viewer_token)
    assert status == 404 and problem["code"] == "message_not_found"
    assert (await notify.post(f"/api/v1/messages/{uuid.uuid4()}/read", w.viewer_token))[0] == 404
    assert (await notify.post("/api/v1/messages/not-a-uuid/read", w.viewer_token))[0] == 404
    assert (await notify.messages(w.manager_token))["items"][0]["read"] is False


async def test_messages_need_a_valid_token(notify: Notify) -> None:
    assert (await notify.get("/api/v1/messages"))[0] == 401
    assert (await notify.get("/api/v1/messages", "garbage"))[0] == 401
    # notify checks the token itself too (a request that bypasses the gateway)
    async with notify.http.get(notify.direct + "/api/v1/messages") as r:
        assert r.status == 401
    async with notify.http.get(notify.direct + "/api/v1/messages/stream") as r:
        assert r.status == 401


async def test_support_is_public_and_configured(notify: Notify) -> None:
    status, body = await notify.get("/api/v1/support")
    assert status == 200
    assert body == {"phone": notify.settings.support_phone,
                    "qq_group": notify.settings.support_qq_group,
                    "hours": notify.settings.support_hours}


# push -----------------------------------------------------------------------------------


async def test_a_new_message_is_pushed_over_sse_through_the_gateway(
        notify: Notify, capsys: pytest.CaptureFixture[str]) -> None:
    w = await make_world(notify)
    latencies = []
    async with open_stream(notify.http, notify.gateway, w.enterprise_token) as stream:
        for i in range(5):
            seal = uuid.uuid4()
            started = time.perf_counter()
            await notify.bus.publish(SealIssued(seal_id=seal, enterprise_id=w.enterprise,
                                                type="contract", name=f"推送测试章{i}",
                                                image_sha256="0" * 64, certificate_serial="0C",
                                                issued_by=w.enterprise), stream_id=seal)
            ev = await stream.next_message()
            latencies.append((ev.received - started) * 1000)
            assert ev.data["kind"] == "seal_issued" and f"推送测试章{i}" in ev.data["body"]
            assert ev.id == ev.data["message_id"] and ev.data["read"] is False
    listed = {i["message_id"] for i in (await notify.messages(w.enterprise_token))["items"]}
    assert ev.id in listed
    with capsys.disabled():
        print(f"\n[notify] push latency, publish -> SSE client via gateway (ms): "
              f"{', '.join(f'{x:.1f}' for x in latencies)}")


async def test_the_stream_resumes_after_last_event_id(notify: Notify) -> None:
    w = await make_world(notify)
    async with open_stream(notify.http, notify.gateway, w.enterprise_token) as stream:
        await issue_seal(notify, w, "第一枚")
        last = (await stream.next_message()).id
    for name in ("第二枚", "第三枚"):
        await issue_seal(notify, w, name)  # committed while nobody listens
    async with open_stream(notify.http, notify.gateway, w.enterprise_token, last) as stream:
        got = [(await stream.next_message()).data["body"] for _ in range(2)]
    assert "「第二枚」" in got[0] and "「第三枚」" in got[1]


async def test_an_idle_stream_gets_heartbeats(notify: Notify) -> None:
    w = await make_world(notify)
    async with open_stream(notify.http, notify.gateway, w.person_token) as stream:
        with pytest.raises(asyncio.TimeoutError):
            await stream.next(within=2.5)  # heartbeat is 1 s in this fixture
        assert stream.comments >= 2


async def test_concurrent_commits_for_one_recipient_are_all_pushed_in_order(notify: Notify) -> None:
    w = await make_world(notify)
    n = 40
    async with open_stream(notify.http, notify.gateway, w.enterprise_token) as stream:
        seals = [uuid.uuid4() for _ in range(n)]
        await asyncio.gather(*(notify.bus.publish(
            SealIssued(seal_id=s, enterprise_id=w.enterprise, type="contract", name=f"并发{i}",
                       image_sha256="0" * 64, certificate_serial="0D", issued_by=w.enterprise),
            stream_id=s) for i, s in enumerate(seals)))
        pushed = [await stream.next_message() for _ in range(n)]
    ids = [p.id for p in pushed]
    assert len(set(ids)) == n
    listed = [i["message_id"] for i in (await notify.messages(w.enterprise_token, limit="100"))["items"]
              if i["kind"] == "seal_issued"]
    assert ids == list(reversed(listed))  # pushed in the order the list shows, oldest first


async def test_a_stream_on_another_replica_gets_the_message_and_ends_on_shutdown(notify: Notify) -> None:
    """Whichever replica consumes the event, PostgreSQL NOTIFY wakes the streams of all."""
    w = await make_world(notify)
    replica = TestServer(create_app(notify.settings), host="127.0.0.1")
    await replica.start_server()
    url = f"http://127.0.0.1:{replica.port}"
    try:
        async with open_stream(notify.http, url, w.enterprise_token) as stream:
            for i in range(6):  # two consumers compete: some events go to each replica
                await issue_seal(notify, w, f"副本{i}")
                assert f"「副本{i}」" in (await stream.next_message()).data["body"]
            started = time.monotonic()
            closing = asyncio.create_task(replica.close())
            with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
                while True:
                    await stream.next(within=5)
            await closing
            assert time.monotonic() - started < 5
    finally:
        await replica.close()


async def test_the_stream_ends_when_the_access_token_expires(notify: Notify) -> None:
    principal, _ = notify.signer.person()
    short = notify.signer.token(principal, lifetime=2)
    started = time.monotonic()
    async with open_stream(notify.http, notify.gateway, short) as stream:
        last = await stream.next(within=5)
        assert last.event == "token_expired"
        with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
            await stream.next(within=5)
    assert time.monotonic() - started < 4


async def test_streams_survive_the_loss_of_the_listening_connection(notify: Notify) -> None:
    w = await make_world(notify)
    async with open_stream(notify.http, notify.gateway, w.enterprise_token) as stream:
        killed = await notify.sql_value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'")
        assert killed >= 1
        await issue_seal(notify, w, "断线后")  # may commit before the listener is back
        assert "「断线后」" in (await stream.next_message(within=5)).data["body"]
        await eventually(lambda: notify.sql_value(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"))
        await issue_seal(notify, w, "重连后")
        assert "「重连后」" in (await stream.next_message(within=5)).data["body"]


async def test_a_client_leaving_the_gateway_ends_its_stream_in_notify(notify: Notify) -> None:
    async def open_streams() -> float:
        async with notify.http.get(notify.internal + "/metrics") as r:
            text = await r.text()
        line = next(x for x in text.splitlines() if x.startswith("eseal_notify_open_streams "))
        return float(line.split()[1])

    # streams that earlier tests left end at their next heartbeat (1 s here)
    await eventually(lambda: _equals(open_streams(), 0), within=6)
    _, token = notify.signer.person()
    async with open_stream(notify.http, notify.gateway, token):
        assert await open_streams() == 1
    # noticed at the next heartbeat write, by the gateway and then by notify
    await eventually(lambda: _equals(open_streams(), 0), within=6)


async def _equals(value: Awaitable[float], expected: float) -> bool:
    return await value == expected


# revoked sessions ------------------------------------------------------------------------


async def test_a_stream_ends_with_token_revoked_when_its_session_is_revoked(notify: Notify) -> None:
    """Directly on notify and through the gateway: the stream does not outlive a logout,
    other sessions' streams go on, and the revoked token gets nothing from notify itself."""
    me, token = notify.signer.person()
    _, other_token = notify.signer.person()
    async with open_stream(notify.http, notify.direct, token) as direct, \
            open_stream(notify.http, notify.gateway, token) as routed, \
            open_stream(notify.http, notify.direct, other_token) as other:
        await notify.bus.publish(SessionsRevoked(principal_id=me.id, revoked_before=datetime.now(UTC),
                                                 reason="logout", session_id=me.session_id),
                                 stream_id=me.id)
        for stream in (direct, routed):
            last = await stream.next(within=5)
            assert last.event == "token_revoked", last
            with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
                await stream.next(within=5)
        with pytest.raises(asyncio.TimeoutError):  # another session's stream goes on, silent
            await other.next(within=1.5)
    headers = {"Authorization": f"Bearer {token}"}
    async with notify.http.get(notify.direct + "/api/v1/messages", headers=headers) as r:
        assert r.status == 401 and (await r.json(content_type=None))["code"] == "token_revoked"
    async with notify.http.get(notify.direct + "/api/v1/messages/stream", headers=headers) as r:
        assert r.status == 401 and (await r.json(content_type=None))["code"] == "token_revoked"
