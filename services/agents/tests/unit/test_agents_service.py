"""The agents service layer on in-memory fakes (no database, no identity): fast checks of
what a command does, what it refuses, and that a refusal leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from agents.domain.commands import AddAgent, ChangePassword, UpdateAgent
from agents.domain.errors import AgentExists, AgentNotFound, IdentityVerificationFailed
from agents.service_layer import handlers as h
from agents.service_layer.context import Agents

from shared.auth import Principal
from shared.errors import Forbidden
from shared.internal import RemoteError
from tests.support import identities as ids
from tests.support.fakes.agents import FakeAgentStorage, FakeIdentity, FakeRealName, remote

TODAY = date(2026, 11, 29)


class World:
    def __init__(self) -> None:
        self.storage, self.identity, self.realname = FakeAgentStorage(), FakeIdentity(), FakeRealName()
        self.ctx = Agents(storage=self.storage, identity=self.identity, realname=self.realname,
                            today=lambda: TODAY)
        self.enterprise = self.new_enterprise()

    def new_enterprise(self) -> Principal:
        enterprise_id = uuid.uuid4()
        self.identity.enterprises.add(enterprise_id)
        return Principal(id=enterprise_id, role="enterprise", name="测试企业", enterprise_id=enterprise_id)

    def face_token(self, operator: Principal) -> str:
        token = uuid.uuid4().hex
        self.identity.face_tokens[token] = (operator.id, "add_agent")
        return token

    async def add(self, operator: Principal | None = None, /, **kw: Any) -> dict[str, Any]:
        operator = operator or self.enterprise
        return await h.add_agent(self.ctx, operator, self.command(operator, **kw))

    def command(self, operator: Principal, **kw: Any) -> AddAgent:
        body: dict[str, Any] = dict(
            name="张三", id_type="resident_id_card", id_number="11010519491231002X",
            id_valid_from="2020-01-01", id_valid_to="2030-01-01", id_long_term=False,
            phone="13800138000", password="abc12345", password_confirm="abc12345",
            valid_from="2026-11-01", valid_to="2027-11-01", can_manage=True,
            face_token=self.face_token(operator))
        body.update(kw)
        return AddAgent.model_validate(body)


@pytest.fixture
def world() -> World:
    return World()


async def test_add_agent_lists_it_masked_and_creates_its_login(world: World) -> None:
    agent = await world.add()
    assert agent["id_number_masked"] == "**************002X" and agent["status"] == "active"
    page = await h.list_agents(world.ctx, world.enterprise, 10, None)
    assert [a["agent_id"] for a in page["items"]] == [agent["agent_id"]]
    assert uuid.UUID(agent["agent_id"]) in world.identity.logins
    assert world.identity.calls[0][0] == "consume_face_token"


async def test_a_duplicate_element_is_refused_before_the_face_token_is_used(world: World) -> None:
    await world.add()
    for kw, field in [({"phone": "13900139000"}, "id_number"),
                      ({"id_number": ids.id_number()}, "phone")]:
        token_calls = len(world.identity.calls)
        with pytest.raises(AgentExists) as refused:
            await world.add(**kw)
        assert refused.value.errors[0]["field"] == field
        assert len(world.identity.calls) == token_calls  # identity was not even asked
    assert len((await h.list_agents(world.ctx, world.enterprise, 10, None))["items"]) == 1


async def test_another_enterprise_may_use_the_same_elements(world: World) -> None:
    await world.add()
    other = world.new_enterprise()
    await world.add(other)
    assert len((await h.list_agents(world.ctx, other, 10, None))["items"]) == 1


async def test_failed_real_name_check_and_identity_refusal_leave_nothing(world: World) -> None:
    world.realname.unknown.add("李四")
    with pytest.raises(IdentityVerificationFailed):
        await world.add(name="李四")
    world.identity.fail["create_login"] = remote(503, "upstream_error")
    with pytest.raises(RemoteError):
        await world.add()
    assert (await h.list_agents(world.ctx, world.enterprise, 10, None))["items"] == []
    assert world.storage.state.streams == {} and world.storage.state.elements == {}
    # the login identity may have created is taken back
    assert world.identity.calls[-1][0] == "remove_login"


async def test_all_four_elements_are_checked_and_a_refusal_names_only_the_kind(world: World) -> None:
    """姓名、证件号码、证件有效期、手机号 together; the answer names the failing kind of element,
    never a value on record, and nothing is stored."""
    await world.add(id_long_term=True, id_valid_to=None)
    checked = world.realname.checked[-1]
    assert (checked.name, checked.id_number, checked.id_valid_from, checked.id_valid_to, checked.phone) == (
        "张三", "11010519491231002X", date(2020, 1, 1), None, "13800138000")
    stale = ids.id_number()
    for setup, kw, field in [
            (lambda: world.realname.wrong_validity.add(stale),
             {"id_number": stale, "phone": "13900000001"}, "id_valid_from"),
            (lambda: world.realname.foreign_phones.add("13900000002"),
             {"id_number": ids.id_number(), "phone": "13900000002"}, "phone")]:
        setup()
        with pytest.raises(IdentityVerificationFailed) as refused:
            await world.add(**kw)
        (error,) = refused.value.errors
        assert error["field"] == field
        assert kw["phone"] not in str(refused.value.detail) + error["message"]
    assert len((await h.list_agents(world.ctx, world.enterprise, 10, None))["items"]) == 1


async def test_update_changes_the_window_and_the_login(world: World) -> None:
    agent_id = uuid.UUID((await world.add())["agent_id"])
    cmd = UpdateAgent.model_validate({"valid_to": "2027-01-01", "can_manage": False})
    updated = await h.update_agent(world.ctx, world.enterprise, agent_id, cmd)
    assert (updated["valid_to"], updated["can_manage"]) == ("2027-01-01", False)
    login = world.identity.logins[agent_id]
    assert (login.valid_to, login.can_manage) == (date(2027, 1, 1), False)
    calls = len(world.identity.calls)
    await h.update_agent(world.ctx, world.enterprise, agent_id, cmd)  # no change: no event, no call
    assert len(world.identity.calls) == calls
    assert len(world.storage.state.streams[agent_id]) == 2


async def test_remove_frees_the_elements_and_hides_the_agent(world: World) -> None:
    agent_id = uuid.UUID((await world.add())["agent_id"])
    await h.remove_agent(world.ctx, world.enterprise, agent_id)
    with pytest.raises(AgentNotFound):
        await h.get_agent(world.ctx, world.enterprise, agent_id)
    with pytest.raises(AgentNotFound):
        await h.remove_agent(world.ctx, world.enterprise, agent_id)
    assert world.identity.logins[agent_id].removed
    await world.add()  # the same ID number and phone again


async def test_another_enterprise_gets_404_and_an_agent_403(world: World) -> None:
    agent_id = uuid.UUID((await world.add())["agent_id"])
    other = world.new_enterprise()
    with pytest.raises(AgentNotFound):
        await h.get_agent(world.ctx, other, agent_id)
    as_agent = Principal(id=agent_id, role="agent", name="张三", enterprise_id=world.enterprise.enterprise_id,
                         can_manage=True)
    with pytest.raises(Forbidden):
        await h.change_password(world.ctx, as_agent, agent_id,
                                ChangePassword.model_validate({"password": "xyz98765",
                                                               "password_confirm": "xyz98765"}))


async def test_the_list_pages_newest_first(world: World) -> None:
    phones = [f"1380013800{i}" for i in range(5)]
    for phone in phones:
        await world.add(phone=phone, id_number=ids.id_number())
    first = await h.list_agents(world.ctx, world.enterprise, 2, None)
    second = await h.list_agents(world.ctx, world.enterprise, 10, first["next_cursor"])
    assert second["next_cursor"] is None
    names = [a["phone_masked"] for a in first["items"] + second["items"]]
    assert names == [f"*******800{i}" for i in reversed(range(5))]
