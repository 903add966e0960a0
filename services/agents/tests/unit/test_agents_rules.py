"""The agent aggregate and its rules, with fakes: no database, no service."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from agents.adapters.realname import SandboxRealName, UnavailableRealName, realname_verifier
from agents.domain import agent as rules
from agents.domain.commands import AddAgent, UpdateAgent
from agents.domain.errors import RealNameProviderUnavailable
from agents.service_layer.ports import IdentityElements

from shared.catalog import AgentAdded
from shared.errors import EsealError, ValidationFailed

TODAY = date(2026, 11, 29)
ENTERPRISE, OPERATOR = uuid.uuid4(), uuid.uuid4()


def _add(**kw: object) -> AddAgent:
    body: dict[str, object] = dict(
        name="张三",
        id_type="resident_id_card",
        id_number="11010519491231002X",
        id_valid_from="2020-01-01",
        id_valid_to="2030-01-01",
        id_long_term=False,
        phone="13800138000",
        password="abc12345",
        password_confirm="abc12345",
        valid_from="2026-11-01",
        valid_to="2027-11-01",
        can_manage=True,
        face_token="t",
    )
    body.update(kw)
    return AddAgent.model_validate(body)


@pytest.mark.parametrize(
    ("start", "end", "long_term", "problem"),
    [
        (date(2020, 1, 1), date(2025, 1, 1), False, "id_document_expired"),
        (date(2020, 1, 1), date(2030, 1, 1), False, None),
        (date(2020, 1, 1), date(2040, 1, 1), False, None),
        (date(2024, 2, 29), date(2029, 2, 28), False, None),  # leap day, common year
        (date(2020, 1, 1), date(2029, 12, 31), False, "id_validity_term"),  # a day short of 10 years
        (date(2020, 1, 1), date(2027, 1, 1), False, "id_validity_term"),
        (date(2020, 1, 1), None, False, "id_valid_to_required"),
        (date(2020, 1, 1), None, True, None),
        (date(2020, 1, 1), date(2040, 1, 1), True, "id_valid_to_with_long_term"),
        (date(2026, 12, 1), None, True, "id_valid_from_future"),
    ],
)
def test_id_document_validity(start: date, end: date | None, long_term: bool, problem: str | None) -> None:
    errors = rules.id_validity_errors(start, end, long_term, TODAY)
    assert [e["code"] for e in errors] == ([problem] if problem else [])


def test_status_follows_the_window_in_china() -> None:
    assert rules.status(date(2026, 12, 1), date(2027, 1, 1), TODAY) == "pending"
    assert rules.status(TODAY, TODAY, TODAY) == "active"
    assert rules.status(date(2026, 1, 1), date(2026, 11, 28), TODAY) == "expired"


def test_fold_replays_the_agents_life() -> None:
    agent_id = uuid.uuid4()
    added = rules.added(agent_id, ENTERPRISE, OPERATOR, _add())
    assert isinstance(added, AgentAdded)
    assert added.id_number_masked == "**************002X" and added.phone_masked == "*******8000"
    assert "abc12345" not in added.model_dump_json()
    agent = rules.fold([added])
    assert agent is not None and agent.version == 1 and agent.can_manage
    update = rules.updated(agent, None, date(2027, 1, 1), False)
    assert update is not None
    agent = rules.fold([added, update, rules.password_changed(agent), rules.removed(agent, OPERATOR)])
    assert agent is not None and agent.version == 4 and agent.removed
    assert agent.valid_to == date(2027, 1, 1) and agent.can_manage is False


def test_update_without_change_is_no_event_and_inverted_window_is_refused() -> None:
    agent = rules.fold([rules.added(uuid.uuid4(), ENTERPRISE, OPERATOR, _add())])
    assert agent is not None
    assert rules.updated(agent, agent.valid_from, None, agent.can_manage) is None
    with pytest.raises(ValidationFailed) as refused:
        rules.updated(agent, date(2028, 1, 1), None, None)
    assert refused.value.errors[0]["field"] == "valid_from"


def test_bodies_refuse_mismatch_and_order_and_types() -> None:
    for change, field in [
        ({"password_confirm": "x"}, "password_confirm"),
        ({"valid_to": "2026-10-01"}, "valid_to"),
        ({"can_manage": "true"}, "can_manage"),
        ({"valid_from": 1764374400}, "valid_from"),
        ({"extra": 1}, "extra"),
    ]:
        with pytest.raises(Exception) as exc:
            _add(**change)
        assert field in str(exc.value)
    with pytest.raises(Exception, match="nothing_to_change|required"):
        UpdateAgent.model_validate({})


async def test_sandbox_realname_answers_like_a_provider() -> None:
    sandbox = realname_verifier(None, "test", "110105194912310021, 11010519491231002x")
    assert isinstance(sandbox, SandboxRealName)
    assert (await sandbox.verify("张三", "resident_id_card", "220102198001011234")).verified
    unknown = await sandbox.verify("不存在", "resident_id_card", "220102198001011234")
    assert not unknown.verified and unknown.field == "name"
    mismatch = await sandbox.verify("张三", "resident_id_card", "11010519491231002X")
    assert not mismatch.verified and mismatch.field == "id_number"


async def test_sandbox_realname_checks_four_elements() -> None:
    sandbox = realname_verifier(None, "test", "validity:11010519491231002x, phone:13900000002")
    assert isinstance(sandbox, SandboxRealName)

    def four(id_number: str, phone: str) -> IdentityElements:
        return IdentityElements("张三", "resident_id_card", id_number, date(2020, 1, 1), None, phone)

    assert (await sandbox.verify_four(four("110105194912310021", "13800138000"))).verified
    assert (await sandbox.verify_four(four("11010519491231002X", "13800138000"))).field == "id_valid_from"
    assert (await sandbox.verify_four(four("110105194912310021", "13900000002"))).field == "phone"


async def test_no_sandbox_realname_in_production() -> None:
    with pytest.raises(RuntimeError):
        SandboxRealName("production")
    unavailable = realname_verifier(None, "production", "")
    assert isinstance(unavailable, UnavailableRealName)
    with pytest.raises(RealNameProviderUnavailable) as exc:
        await unavailable.verify("张三", "resident_id_card", "11010519491231002X")
    assert isinstance(exc.value, EsealError) and exc.value.status == 503


def test_an_id_validity_at_the_calendars_end_is_refused_not_a_crash() -> None:
    # 9999-06-01 plus 5/10/20 years is past date.max: a 422 for the client, never a 500.
    errors = rules.id_validity_errors(date(9999, 6, 1), date(9999, 6, 2), False, TODAY)
    assert {e["field"] for e in errors} == {"id_valid_from", "id_valid_to"}
    assert rules.add_years(date(9999, 6, 1), 5) == date.max
