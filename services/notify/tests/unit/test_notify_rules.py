"""notify's recipient rules and message texts (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from notify.domain import AgentEntry, GrantEntry, Names, rules, texts

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

E, SEAL, PERSON, ACTOR = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
AT = datetime(2026, 11, 29, 8, 45, tzinfo=UTC)  # 16:45 in China
NAMES = Names(enterprise="长春市测试科技有限公司", seal="长春市测试科技有限公司合同专用章", person="张三")


def agent(can_manage: bool = True, removed: bool = False,
          valid_to: date | None = date(2027, 1, 1)) -> AgentEntry:
    return AgentEntry(uuid.uuid4(), can_manage, removed, date(2026, 1, 1), valid_to)


def grant(revoked: bool = False, valid_to: date | None = date(2027, 1, 1), corr: str = "") -> GrantEntry:
    return GrantEntry(uuid.uuid4(), uuid.uuid4(), revoked, corr, valid_to)


def test_times_are_shown_in_china_time() -> None:
    assert texts.local_time(AT) == "2026-11-29 16:45"
    assert texts.local_date(datetime(2026, 11, 29, 17, 0, tzinfo=UTC)) == date(2026, 11, 30)


def test_managing_agents_are_current_managers_only() -> None:
    manager, viewer, removed, ended = agent(), agent(can_manage=False), agent(removed=True), \
        agent(valid_to=date(2026, 11, 28))
    open_ended = agent(valid_to=None)
    got = rules.managing_agents([manager, viewer, removed, ended, open_ended], date(2026, 11, 29))
    assert got == [manager.agent_id, open_ended.agent_id]


def test_seal_issued_tells_the_enterprise_and_its_managing_agents() -> None:
    manager, viewer = agent(), agent(can_manage=False)
    ev = SealIssued(seal_id=SEAL, enterprise_id=E, type="contract", name=NAMES.seal or "",
                    image_sha256="0" * 64, certificate_serial="01", issued_by=ACTOR)
    drafts = rules.seal_issued(ev, AT, [manager, viewer])
    assert [d.recipient_id for d in drafts] == [E, manager.agent_id]
    assert {d.kind for d in drafts} == {"seal_issued"}
    assert drafts[0].title == "新增印章通知"
    assert drafts[0].body == ("您企业的印章「长春市测试科技有限公司合同专用章」已于 2026-11-29 16:45 生成，"
                              "可在【我的印章】中查看并授权使用。")


def test_seal_revoked_tells_enterprise_managers_and_current_grantees() -> None:
    manager = agent()
    active, expired, deleted = grant(), grant(valid_to=date(2026, 11, 1)), grant(revoked=True)
    with_seal = grant(revoked=True, corr="req-1")
    twice = GrantEntry(uuid.uuid4(), active.person_id, False, "", date(2027, 6, 1))
    ev = SealRevoked(seal_id=SEAL, enterprise_id=E, revoked_by=ACTOR, revoked_at=AT)
    drafts = rules.seal_revoked(ev, NAMES, [manager], [active, expired, deleted, with_seal, twice],
                                "req-1")
    assert [d.recipient_id for d in drafts] == [E, manager.agent_id, active.person_id,
                                                with_seal.person_id]
    assert drafts[0].title == "印章作废通知"
    assert drafts[0].body == ("您企业的印章「长春市测试科技有限公司合同专用章」已于 2026-11-29 16:45 作废，"
                              "被授权人将无法继续使用。")
    assert drafts[2].body == ("长春市测试科技有限公司授权您使用的印章「长春市测试科技有限公司合同专用章」"
                              "已于 2026-11-29 16:45 作废，您将无法继续使用该印章。")


def test_grant_messages_go_to_the_person_and_the_enterprise() -> None:
    common = dict(grant_id=uuid.uuid4(), seal_id=SEAL, enterprise_id=E, person_id=PERSON,
                  valid_from=date(2026, 12, 1), valid_to=date(2027, 11, 30))
    added = rules.grant_added(AuthorizationGranted(**common, granted_by=ACTOR), NAMES)
    assert [(d.recipient_id, d.kind) for d in added] == [(PERSON, "grant_added"), (E, "grant_added")]
    assert added[0].body == ("长春市测试科技有限公司已授权您使用印章「长春市测试科技有限公司合同专用章」，"
                             "有效期 2026-12-01 至 2027-11-30。")
    assert added[1].body == ("您企业已授权张三使用印章「长春市测试科技有限公司合同专用章」，"
                             "有效期 2026-12-01 至 2027-11-30。")
    updated = rules.grant_updated(AuthorizationUpdated(**common), NAMES)
    assert [d.kind for d in updated] == ["grant_updated"] * 2
    assert updated[0].title == "印章授权变更通知"
    removed_ev = AuthorizationRevoked(grant_id=common["grant_id"], seal_id=SEAL, enterprise_id=E,
                                      person_id=PERSON, revoked_by=ACTOR)
    removed = rules.grant_removed(removed_ev, NAMES)
    assert [(d.recipient_id, d.title) for d in removed] == [(PERSON, "印章授权取消通知"),
                                                             (E, "印章授权取消通知")]
    assert rules.grant_removed(removed_ev, NAMES, by_seal_revocation=True) == []


def test_agent_messages_go_to_the_agent() -> None:
    agent_id = uuid.uuid4()
    added = rules.agent_added(AgentAdded(agent_id=agent_id, enterprise_id=E, name="李四",
                                         valid_from=date(2026, 12, 1), valid_to=date(2027, 12, 1),
                                         can_manage=True, added_by=E), NAMES)
    assert [(d.recipient_id, d.kind, d.title) for d in added] == [(agent_id, "agent_added", "经办人添加通知")]
    assert "可维护企业电子印章" in added[0].body and "2026-12-01 至 2027-12-01" in added[0].body
    removed = rules.agent_removed(AgentRemoved(agent_id=agent_id, enterprise_id=E, removed_by=E), NAMES)
    assert [(d.recipient_id, d.kind) for d in removed] == [(agent_id, "agent_removed")]
    assert removed[0].body.startswith("长春市测试科技有限公司已将您移出经办人")


def test_stamp_applied_tells_the_enterprise() -> None:
    ev = StampApplied(record_id=uuid.uuid4(), request_id=uuid.uuid4(), seal_id=SEAL, enterprise_id=E,
                      person_id=PERSON, document_sha256="0" * 64, stamped_at=AT, client_id="c1",
                      document_title="采购合同")
    drafts = rules.stamp_applied(ev, NAMES)
    assert [(d.recipient_id, d.kind, d.title) for d in drafts] == [(E, "stamp_applied", "印章使用通知")]
    assert drafts[0].body == ("您企业的印章「长春市测试科技有限公司合同专用章」已于 2026-11-29 16:45 "
                              "由张三用于文件《采购合同》盖章。")


def test_unknown_names_read_naturally() -> None:
    ev = AuthorizationGranted(grant_id=uuid.uuid4(), seal_id=SEAL, enterprise_id=E, person_id=PERSON,
                              valid_from=date(2026, 12, 1), valid_to=date(2027, 11, 30), granted_by=ACTOR)
    person_msg, enterprise_msg = rules.grant_added(ev, Names())
    assert person_msg.body.startswith("企业已授权您使用印章，")
    assert enterprise_msg.body.startswith("您企业已授权被授权人使用印章，")
    assert "「」" not in person_msg.body + enterprise_msg.body


def test_the_grantee_name_in_the_event_wins() -> None:
    ev = AuthorizationGranted(grant_id=uuid.uuid4(), seal_id=SEAL, enterprise_id=E, person_id=PERSON,
                              valid_from=date(2026, 12, 1), valid_to=date(2027, 11, 30),
                              granted_by=ACTOR, person_name="孙八")
    _, enterprise_msg = rules.grant_added(ev, NAMES)
    assert enterprise_msg.body.startswith("您企业已授权孙八使用")


def test_a_cursor_beyond_the_sequences_range_is_refused_not_a_crash() -> None:
    import pytest
    from notify.service_layer.messages import decode_cursor, encode_cursor

    from shared.cursors import InvalidCursor

    assert decode_cursor(encode_cursor(2**63 - 1)) == 2**63 - 1
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(99999999999999999999999))  # the column is a bigint:
    with pytest.raises(InvalidCursor):                            # asyncpg would fail (a 500)
        decode_cursor(encode_cursor(0))
