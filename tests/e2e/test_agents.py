"""Agent management (经办人管理) and agent logins, through the gateway."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.e2e.test_identity import fields, is_problem, revoked_within
from tests.support import identities as ids
from tests.support.api import Api

pytestmark = pytest.mark.e2e


async def enterprise_session(api: Api) -> dict[str, Any]:
    ent = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    return {**ent, "token": session["access_token"]}


async def agent_login(
    api: Api, ent: dict[str, Any], agent: dict[str, Any], password: str | None = None
) -> Any:
    return await api.post(
        "/api/v1/sessions",
        json={
            "method": "password",
            "role": "agent",
            "username": agent["phone"],
            "enterprise_uscc": ent["uscc"],
            "password": password or agent["password"],
        },
    )


async def agents_db_counts(platform: Platform) -> tuple[int, int, int]:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}agents")
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM events"),
            await conn.fetchval("SELECT count(*) FROM agent_list"),
            await conn.fetchval("SELECT count(*) FROM agent_elements"),
        )
    finally:
        await conn.close()


@pytest.fixture()
async def ent(api: Api) -> dict[str, Any]:
    return await enterprise_session(api)


# the happy paths ----------------------------------------------------------------------


async def test_enterprise_adds_an_agent_who_logs_in(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"], can_manage=False)
    assert agent["id_number_masked"] == "*" * 14 + agent["id_number"][-4:]
    assert agent["phone_masked"] == "*" * 7 + agent["phone"][-4:]
    assert agent["status"] == "active" and agent["can_manage"] is False
    assert "password" not in json.dumps(
        {k: v for k, v in agent.items() if k not in ("password", "password_confirm")}
    )
    listed = await api.get("/api/v1/agents", token=ent["token"])
    assert [a["agent_id"] for a in listed.json["items"]] == [agent["agent_id"]]
    assert listed.json["next_cursor"] is None
    item = listed.json["items"][0]
    assert set(item) >= {
        "agent_id",
        "name",
        "id_type",
        "id_number_masked",
        "phone_masked",
        "id_valid_from",
        "id_valid_to",
        "valid_from",
        "valid_to",
        "can_manage",
        "status",
    }
    login = await agent_login(api, ent, agent)
    assert login.status == 201, login
    assert login.json["principal"] == {
        "id": agent["agent_id"],
        "role": "agent",
        "name": agent["name"],
        "enterprise_id": ent["enterprise_id"],
        "enterprise_name": ent["name"],
        "can_manage": False,
    }
    me = await api.get("/api/v1/me", token=login.json["access_token"])
    assert me.json["valid_to"] == agent["valid_to"] and me.json["phone_masked"] == agent["phone_masked"]


async def test_long_term_id_and_each_allowed_term(api: Api, ent: dict[str, Any]) -> None:
    issued = today_in_china() - timedelta(days=30)
    long_term = await ids.add_agent(
        api, ent["token"], id_valid_from=issued.isoformat(), id_valid_to=None, id_long_term=True
    )
    assert long_term["id_valid_to"] is None and long_term["id_long_term"] is True
    for years in (5, 20):
        end = (
            issued.replace(year=issued.year + years)
            if not (issued.month == 2 and issued.day == 29)
            else issued.replace(year=issued.year + years, day=28)
        )
        await ids.add_agent(api, ent["token"], id_valid_from=issued.isoformat(), id_valid_to=end.isoformat())


async def test_edit_validity_and_permission(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"], can_manage=False)
    new_end = (today_in_china() + timedelta(days=30)).isoformat()
    r = await api.patch(
        f"/api/v1/agents/{agent['agent_id']}",
        json={"valid_to": new_end, "can_manage": True},
        token=ent["token"],
    )
    assert r.status == 200 and r.json["valid_to"] == new_end and r.json["can_manage"] is True
    login = await agent_login(api, ent, agent)
    assert login.json["principal"]["can_manage"] is True
    bad = await api.patch(
        f"/api/v1/agents/{agent['agent_id']}",
        json={"valid_to": (today_in_china() - timedelta(days=400)).isoformat()},
        token=ent["token"],
    )
    assert is_problem(bad, 422, "validation_failed") and fields(bad) == {"valid_to"}
    empty = await api.patch(f"/api/v1/agents/{agent['agent_id']}", json={}, token=ent["token"])
    assert empty.status == 422


async def test_removing_the_management_permission_ends_the_agents_sessions(
    api: Api, ent: dict[str, Any]
) -> None:
    agent = await ids.add_agent(api, ent["token"], can_manage=True)
    token = (await agent_login(api, ent, agent)).json["access_token"]
    r = await api.patch(f"/api/v1/agents/{agent['agent_id']}", json={"can_manage": False}, token=ent["token"])
    assert r.status == 200
    await revoked_within(api, token)
    assert (await agent_login(api, ent, agent)).json["principal"]["can_manage"] is False


async def test_agent_outside_its_window_cannot_log_in(api: Api, ent: dict[str, Any]) -> None:
    tomorrow = today_in_china() + timedelta(days=2)
    agent = await ids.add_agent(
        api,
        ent["token"],
        valid_from=tomorrow.isoformat(),
        valid_to=(tomorrow + timedelta(days=10)).isoformat(),
    )
    assert agent["status"] == "pending"
    refused = await agent_login(api, ent, agent)
    assert is_problem(refused, 403, "agent_not_valid"), refused
    opened = await api.patch(
        f"/api/v1/agents/{agent['agent_id']}",
        json={"valid_from": (today_in_china() - timedelta(days=1)).isoformat()},
        token=ent["token"],
    )
    assert opened.json["status"] == "active"
    login = await agent_login(api, ent, agent)
    assert login.status == 201
    # the enterprise ends the window yesterday: the token dies, the next login is refused
    yesterday = (today_in_china() - timedelta(days=2)).isoformat()
    closed = await api.patch(
        f"/api/v1/agents/{agent['agent_id']}",
        json={"valid_from": (today_in_china() - timedelta(days=5)).isoformat(), "valid_to": yesterday},
        token=ent["token"],
    )
    assert closed.status == 200 and closed.json["status"] == "expired"
    await revoked_within(api, login.json["access_token"])
    assert is_problem(await agent_login(api, ent, agent), 403, "agent_not_valid")
    refresh = await api.post("/api/v1/sessions/refresh", json={"refresh_token": login.json["refresh_token"]})
    assert refresh.status in (401, 403)


async def test_deleted_agent_cannot_log_in_and_its_token_dies_at_once(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"])
    login = await agent_login(api, ent, agent)
    token = login.json["access_token"]
    assert (await api.get("/api/v1/me", token=token)).status == 200
    gone = await api.delete(f"/api/v1/agents/{agent['agent_id']}", token=ent["token"])
    assert gone.status == 204
    assert is_problem(await agent_login(api, ent, agent), 401, "invalid_credentials")
    assert (await api.get("/api/v1/me", token=token)).status == 401  # identity: at once
    took = await revoked_within(api, token, seconds=1.0)  # gateway: within a second
    assert took < 1.0
    assert (await api.get("/api/v1/seal-types", token=token)).status == 401
    listed = await api.get("/api/v1/agents", token=ent["token"])
    assert listed.json["items"] == []
    assert (await api.delete(f"/api/v1/agents/{agent['agent_id']}", token=ent["token"])).status == 404
    refresh = await api.post("/api/v1/sessions/refresh", json={"refresh_token": login.json["refresh_token"]})
    assert refresh.status == 401
    # the same person may be added again afterwards
    again = await ids.add_agent(api, ent["token"], id_number=agent["id_number"], phone=agent["phone"])
    assert (await agent_login(api, ent, again)).status == 201


async def test_new_password_replaces_the_old_and_ends_sessions(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"])
    token = (await agent_login(api, ent, agent)).json["access_token"]
    new = ids.password()
    weak = await api.put(
        f"/api/v1/agents/{agent['agent_id']}/password",
        json={"password": "12345678", "password_confirm": "12345678"},
        token=ent["token"],
    )
    assert is_problem(weak, 422, "validation_failed") and fields(weak) == {"password"}
    differ = await api.put(
        f"/api/v1/agents/{agent['agent_id']}/password",
        json={"password": new, "password_confirm": new + "x"},
        token=ent["token"],
    )
    assert fields(differ) == {"password_confirm"}
    assert (await agent_login(api, ent, agent)).status == 201  # nothing changed yet
    ok = await api.put(
        f"/api/v1/agents/{agent['agent_id']}/password",
        json={"password": new, "password_confirm": new},
        token=ent["token"],
    )
    assert ok.status == 204
    assert is_problem(await agent_login(api, ent, agent), 401, "invalid_credentials")
    await revoked_within(api, token)
    assert (await agent_login(api, ent, agent, password=new)).status == 201


# who may do what ----------------------------------------------------------------------


async def test_person_and_agent_cannot_manage_agents(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"], can_manage=True)
    agent_token = (await agent_login(api, ent, agent)).json["access_token"]
    person = await ids.register_person(api)
    person_token = (await ids.login(api, "person", person["phone"], person["password"]))["access_token"]
    target = f"/api/v1/agents/{agent['agent_id']}"
    for token in (agent_token, person_token):
        assert is_problem(await api.get("/api/v1/agents", token=token), 403, "enterprise_only")
        body = {**ids.agent(), "face_token": "x"}
        assert (await api.post("/api/v1/agents", json=body, token=token)).status == 403
        assert (await api.patch(target, json={"can_manage": False}, token=token)).status == 403
        assert (await api.delete(target, token=token)).status == 403
        assert (
            await api.put(
                target + "/password",
                json={"password": "abc12345", "password_confirm": "abc12345"},
                token=token,
            )
        ).status == 403
    assert (await agent_login(api, ent, agent)).status == 201  # nothing happened to it


async def test_other_enterprises_agents_are_404(api: Api, ent: dict[str, Any]) -> None:
    other = await enterprise_session(api)
    theirs = await ids.add_agent(api, other["token"])
    mine = await ids.add_agent(api, ent["token"])
    my_agent_token = (await agent_login(api, ent, mine)).json["access_token"]
    target = f"/api/v1/agents/{theirs['agent_id']}"
    for token in (ent["token"], my_agent_token):
        assert is_problem(await api.get(target, token=token), 404, "agent_not_found")
        assert is_problem(
            await api.patch(target, json={"can_manage": False}, token=token), 404, "agent_not_found"
        )
        assert is_problem(await api.delete(target, token=token), 404, "agent_not_found")
        r = await api.put(
            target + "/password", json={"password": "abc12345", "password_confirm": "abc12345"}, token=token
        )
        assert is_problem(r, 404, "agent_not_found")
    assert (await api.get("/api/v1/agents/not-a-uuid", token=ent["token"])).status == 404
    # an agent of B logs in only with B's USCC
    wrong = await agent_login(api, ent, theirs)
    assert is_problem(wrong, 401, "invalid_credentials")
    assert (await agent_login(api, other, theirs)).status == 201


# face token rules ---------------------------------------------------------------------


async def test_face_token_reused_other_purpose_other_subject_or_expired_is_refused(
    api: Api, ent: dict[str, Any], platform: Platform
) -> None:
    before = await agents_db_counts(platform)
    token = await ids.face_token(api, ent["token"], "add_agent")
    first = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": token}, token=ent["token"])
    assert first.status == 201
    before = await agents_db_counts(platform)
    reused = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": token}, token=ent["token"])
    assert is_problem(reused, 409, "face_token_used") and fields(reused) == {"face_token"}
    for_seal = await ids.face_token(api, ent["token"], "issue_seal")
    r = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": for_seal}, token=ent["token"])
    assert is_problem(r, 403, "face_token_mismatch")
    other = await enterprise_session(api)
    theirs = await ids.face_token(api, other["token"], "add_agent")
    r = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": theirs}, token=ent["token"])
    assert is_problem(r, 403, "face_token_mismatch")
    short = await ids.face_token(api, ent["token"], "add_agent", expires_in_seconds=1)
    await asyncio.sleep(1.2)
    r = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": short}, token=ent["token"])
    assert is_problem(r, 410, "face_token_expired")
    r = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": "made-up"}, token=ent["token"])
    assert is_problem(r, 422, "face_token_invalid")
    assert await agents_db_counts(platform) == before
    # the other enterprise's token was not used up by the refused attempt
    ok = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": theirs}, token=other["token"])
    assert ok.status == 201


# bad input ----------------------------------------------------------------------------


def _bad_agent_bodies() -> list[Any]:
    today = today_in_china()
    issued = today - timedelta(days=100)
    n = ids.id_number()
    return [
        pytest.param({"id_number": ids.with_wrong_check_char(n)}, "id_number", id="id-check-digit"),
        pytest.param({"id_number": n[:6] + "18991231" + n[14:]}, "id_number", id="id-born-1899"),
        pytest.param({"name": "张" * 31}, "name", id="name-too-long"),
        pytest.param({"name": "张"}, "name", id="name-too-short"),
        pytest.param({"name": "·张三"}, "name", id="name-leading-dot"),
        pytest.param({"phone": "1380013800"}, "phone", id="phone-short"),
        pytest.param(
            {"password": "abcdefgh", "password_confirm": "abcdefgh"}, "password", id="weak-password"
        ),
        pytest.param(
            {"password": "中文密码abc123", "password_confirm": "中文密码abc123"},
            "password",
            id="cjk-password",
        ),
        pytest.param({"password_confirm": "Other123!"}, "password_confirm", id="mismatch"),
        pytest.param(
            {"valid_from": today.isoformat(), "valid_to": (today - timedelta(days=1)).isoformat()},
            "valid_to",
            id="window-end-before-start",
        ),
        pytest.param(
            {
                "valid_from": (today - timedelta(days=9)).isoformat(),
                "valid_to": (today - timedelta(days=2)).isoformat(),
            },
            "valid_to",
            id="window-over",
        ),
        pytest.param(
            {
                "id_valid_from": issued.isoformat(),
                "id_valid_to": (issued + timedelta(days=7 * 365)).isoformat(),
            },
            "id_valid_to",
            id="id-7-years",
        ),
        pytest.param(
            {"id_valid_from": issued.isoformat(), "id_valid_to": None, "id_long_term": False},
            "id_valid_to",
            id="id-end-missing",
        ),
        pytest.param({"id_long_term": True}, "id_valid_to", id="long-term-with-end"),
        pytest.param(
            {"id_valid_from": "2000-01-01", "id_valid_to": "2010-01-01"}, "id_valid_to", id="id-expired"
        ),
        pytest.param(
            {
                "id_valid_from": (today + timedelta(days=3)).isoformat(),
                "id_long_term": True,
                "id_valid_to": None,
            },
            "id_valid_from",
            id="id-from-future",
        ),
        pytest.param({"nickname": "x"}, "nickname", id="unknown-field"),
        pytest.param({"can_manage": "yes"}, "can_manage", id="bool-as-string"),
        pytest.param({"can_manage": 1}, "can_manage", id="bool-as-int"),
        pytest.param({"valid_from": 20260101}, "valid_from", id="date-as-int"),
        pytest.param({"valid_to": "2026/01/01"}, "valid_to", id="date-format"),
        pytest.param({"id_type": "passport"}, "id_type", id="id-type"),
        pytest.param({"name": None}, "name", id="name-null"),
    ]


@pytest.mark.parametrize(("change", "field"), _bad_agent_bodies())
async def test_bad_agent_input_names_the_field_and_writes_nothing(
    api: Api, ent: dict[str, Any], platform: Platform, change: dict[str, Any], field: str
) -> None:
    token = await ids.face_token(api, ent["token"], "add_agent")
    before = await agents_db_counts(platform)
    r = await api.post(
        "/api/v1/agents", json={**ids.agent(**change), "face_token": token}, token=ent["token"]
    )
    assert is_problem(r, 422, "validation_failed"), r
    assert field in fields(r), r
    assert await agents_db_counts(platform) == before
    # the refused request did not use the face token up
    ok = await api.post("/api/v1/agents", json={**ids.agent(), "face_token": token}, token=ent["token"])
    assert ok.status == 201, ok


async def test_missing_fields_and_huge_bodies(api: Api, ent: dict[str, Any], platform: Platform) -> None:
    before = await agents_db_counts(platform)
    r = await api.post("/api/v1/agents", json={"name": "张三"}, token=ent["token"])
    assert r.status == 422 and {"id_number", "phone", "password", "face_token", "valid_from"} <= fields(r)
    huge = await api.post(
        "/api/v1/agents", json={**ids.agent(), "face_token": "x" * 300_000}, token=ent["token"]
    )
    assert is_problem(huge, 413, "payload_too_large")
    assert await agents_db_counts(platform) == before


async def test_realname_check_failure_is_422(api: Api, ent: dict[str, Any], platform: Platform) -> None:
    before = await agents_db_counts(platform)
    token = await ids.face_token(api, ent["token"], "add_agent")
    r = await api.post(
        "/api/v1/agents", json={**ids.agent(name="不存在"), "face_token": token}, token=ent["token"]
    )
    assert is_problem(r, 422, "identity_verification_failed") and fields(r) == {"name"}
    assert await agents_db_counts(platform) == before


async def test_same_person_twice_in_one_enterprise_is_409(api: Api, ent: dict[str, Any]) -> None:
    agent = await ids.add_agent(api, ent["token"])
    token = await ids.face_token(api, ent["token"], "add_agent")
    same_id = await api.post(
        "/api/v1/agents",
        json={**ids.agent(id_number=agent["id_number"]), "face_token": token},
        token=ent["token"],
    )
    assert is_problem(same_id, 409, "agent_exists") and fields(same_id) == {"id_number"}
    same_phone = await api.post(
        "/api/v1/agents", json={**ids.agent(phone=agent["phone"]), "face_token": token}, token=ent["token"]
    )
    assert is_problem(same_phone, 409, "agent_exists") and fields(same_phone) == {"phone"}
    # another enterprise may have the same person as its agent
    other = await enterprise_session(api)
    await ids.add_agent(api, other["token"], id_number=agent["id_number"], phone=agent["phone"])


async def test_two_concurrent_adds_of_the_same_agent_make_exactly_one(api: Api, ent: dict[str, Any]) -> None:
    body = ids.agent()
    tokens = [await ids.face_token(api, ent["token"], "add_agent") for _ in range(2)]
    replies = await asyncio.gather(
        *(api.post("/api/v1/agents", json={**body, "face_token": t}, token=ent["token"]) for t in tokens)
    )
    assert sorted(r.status for r in replies) == [201, 409], replies
    assert [r for r in replies if r.status == 409][0].json["code"] == "agent_exists"
    listed = await api.get("/api/v1/agents", token=ent["token"])
    assert len(listed.json["items"]) == 1
    assert (await agent_login(api, ent, body)).status == 201


async def test_list_pages_with_a_cursor(api: Api, ent: dict[str, Any]) -> None:
    added = [await ids.add_agent(api, ent["token"]) for _ in range(3)]
    page1 = await api.get("/api/v1/agents", params={"limit": "2"}, token=ent["token"])
    assert len(page1.json["items"]) == 2 and page1.json["next_cursor"]
    page2 = await api.get(
        "/api/v1/agents", params={"limit": "2", "cursor": page1.json["next_cursor"]}, token=ent["token"]
    )
    seen = [a["agent_id"] for a in page1.json["items"] + page2.json["items"]]
    assert sorted(seen) == sorted(a["agent_id"] for a in added) and page2.json["next_cursor"] is None
    assert (await api.get("/api/v1/agents", params={"limit": "500"}, token=ent["token"])).status == 422
    bad = await api.get("/api/v1/agents", params={"cursor": "garbage"}, token=ent["token"])
    assert (bad.status, bad.json["code"]) == (422, "invalid_cursor"), bad  # shared/cursors.py


async def test_agent_events_carry_masked_numbers_and_no_password(
    api: Api, ent: dict[str, Any], platform: Platform
) -> None:
    agent = await ids.add_agent(api, ent["token"])
    await api.put(
        f"/api/v1/agents/{agent['agent_id']}/password",
        json={"password": "NewPass123", "password_confirm": "NewPass123"},
        token=ent["token"],
    )
    texts = []
    for service in ("agents", "identity"):
        conn = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}{service}"
        )
        try:
            rows = await conn.fetch(
                "SELECT type, data FROM events WHERE stream_id IN ($1, $2)",
                agent["agent_id"],
                f"login-{agent['agent_id']}",
            )
        finally:
            await conn.close()
        texts.append(json.dumps([dict(r) for r in rows], ensure_ascii=False, default=str))
    agents_text, identity_text = texts
    for secret in (agent["id_number"], agent["phone"], agent["password"], "NewPass123"):
        assert secret not in agents_text and secret not in identity_text
    assert "AgentAdded" in agents_text and "AgentPasswordChanged" in agents_text
    assert "SessionsRevoked" in identity_text
