"""Pure rules: validity windows, aggregates folded from events, decisions, access."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from seals.adapters.rendering import ImageTooLarge, NameTooLong, UnknownSealType, UnsupportedCharacters
from seals.domain import errors
from seals.domain import grant as grant_rules
from seals.domain import seal as seal_rules
from seals.domain import signature as signature_rules
from seals.domain.access import AgentRecord, decide_operator, enterprise_of
from seals.service_layer.problems import image_problem

from shared.auth import Principal
from shared.catalog import (
    AuthorizationGranted,
    AuthorizationRevoked,
    AuthorizationUpdated,
    PersonalSignatureCreated,
    PersonalSignatureDeleted,
    SealIssued,
    SealRevoked,
)
from shared.china_time import china_today
from shared.errors import Forbidden

D = date(2030, 6, 15)
E, P, S, G = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


# --- dates and windows --------------------------------------------------------------------


def test_china_date_turns_at_midnight_beijing_time() -> None:
    assert china_today(datetime(2030, 6, 14, 15, 59, 59, tzinfo=UTC)) == date(2030, 6, 14)
    assert china_today(datetime(2030, 6, 14, 16, 0, tzinfo=UTC)) == date(2030, 6, 15)


def test_window_status_both_ends_inclusive() -> None:
    w = grant_rules.Window(D, D + timedelta(days=2))
    assert w.status(D - timedelta(days=1)) == "pending"
    assert w.status(D) == w.status(D + timedelta(days=2)) == "active"
    assert w.status(D + timedelta(days=3)) == "expired"
    assert grant_rules.Window(D, D).covers(D)


def test_window_ending_before_it_starts_is_refused_naming_valid_to() -> None:
    with pytest.raises(errors.InvalidWindow) as err:
        grant_rules.Window(D, D - timedelta(days=1))
    assert err.value.code == "invalid_window" and err.value.errors[0]["field"] == "valid_to"


# --- seals --------------------------------------------------------------------------------


def issued() -> SealIssued:
    return seal_rules.issue_seal(seal_id=S, enterprise_id=E, type_code="contract",
                                 name="某公司合同专用章", image_sha256="ab", certificate_serial="01",
                                 issued_by=E)


def test_seal_folds_from_its_events() -> None:
    seal = seal_rules.fold([issued()])
    assert seal is not None and seal.active and seal.version == 1
    at = datetime(2030, 1, 1, tzinfo=UTC)
    revoked = seal_rules.fold([issued(), seal_rules.revoke_seal(seal, by=E, at=at, reason="遗失")])
    assert revoked is not None and revoked.status == "revoked" and revoked.revoked_at == at
    assert revoked.version == 2
    assert seal_rules.fold([]) is None


def test_a_revoked_seal_cannot_be_revoked_again() -> None:
    seal = seal_rules.fold([issued(), SealRevoked(seal_id=S, enterprise_id=E, revoked_by=E,
                                                  revoked_at=datetime.now(UTC))])
    assert seal is not None
    with pytest.raises(errors.SealRevoked):
        seal_rules.revoke_seal(seal, by=E, at=datetime.now(UTC), reason="")


# --- grants -------------------------------------------------------------------------------


def granted(valid_from: date = D, valid_to: date = D + timedelta(days=9)) -> AuthorizationGranted:
    seal = seal_rules.fold([issued()])
    assert seal is not None
    return grant_rules.grant_authorization(grant_id=G, seal=seal, person_id=P,
                                           window=grant_rules.Window(valid_from, valid_to), today=D,
                                           granted_by=E, person_name="张三", id_number_masked="****1234")


def test_grant_folds_through_updates_and_deletion() -> None:
    g = grant_rules.fold([granted()])
    assert g is not None and grant_rules.usable(g, D)
    assert not grant_rules.usable(g, D - timedelta(days=1))
    upd = AuthorizationUpdated(grant_id=G, seal_id=S, enterprise_id=E, person_id=P,
                               valid_from=D, valid_to=D)
    g2 = grant_rules.fold([granted(), upd])
    assert g2 is not None and g2.window == grant_rules.Window(D, D) and g2.version == 2
    g3 = grant_rules.fold([granted(), upd, AuthorizationRevoked(grant_id=G, seal_id=S, enterprise_id=E,
                                                                person_id=P, revoked_by=E)])
    assert g3 is not None and g3.deleted and not grant_rules.usable(g3, D)


def test_no_grant_on_a_revoked_seal_nor_one_already_over() -> None:
    seal = seal_rules.fold([issued(), SealRevoked(seal_id=S, enterprise_id=E, revoked_by=E,
                                                  revoked_at=datetime.now(UTC))])
    assert seal is not None
    with pytest.raises(errors.SealRevoked):
        grant_rules.grant_authorization(grant_id=G, seal=seal, person_id=P,
                                        window=grant_rules.Window(D, D), today=D, granted_by=E,
                                        person_name="", id_number_masked="")
    with pytest.raises(errors.InvalidWindow) as err:
        granted(D - timedelta(days=9), D - timedelta(days=1))
    assert err.value.code == "window_in_past"


def test_changing_a_window() -> None:
    seal = seal_rules.fold([issued()])
    grant = grant_rules.fold([granted()])
    assert seal is not None and grant is not None
    assert grant_rules.change_window(grant, seal=seal, valid_from=None, valid_to=None) is None
    assert grant_rules.change_window(grant, seal=seal, valid_from=D, valid_to=D + timedelta(days=9)) is None
    ev = grant_rules.change_window(grant, seal=seal, valid_from=None, valid_to=D)
    assert ev is not None and (ev.valid_from, ev.valid_to) == (D, D)
    with pytest.raises(errors.InvalidWindow):
        grant_rules.change_window(grant, seal=seal, valid_from=D + timedelta(days=10), valid_to=None)


def test_deleted_grant_is_gone() -> None:
    grant = grant_rules.fold([granted(), AuthorizationRevoked(grant_id=G, seal_id=S, enterprise_id=E,
                                                              person_id=P, revoked_by=E)])
    seal = seal_rules.fold([issued()])
    assert grant is not None and seal is not None
    with pytest.raises(errors.GrantNotFound):
        grant_rules.revoke_grant(grant, by=E)
    with pytest.raises(errors.GrantNotFound):
        grant_rules.change_window(grant, seal=seal, valid_from=None, valid_to=D)


# --- the stamping decision ----------------------------------------------------------------


def test_stamp_needs_active_seal_of_that_enterprise_and_a_grant_valid_today() -> None:
    seal = seal_rules.fold([issued()])
    grant = grant_rules.fold([granted()])
    assert seal is not None and grant is not None
    assert grant_rules.check_stamp(seal, grant, enterprise_id=E, today=D) is seal
    refusals = [
        (None, grant, E, D),
        (seal, grant, uuid.uuid4(), D),
        (seal, None, E, D),
        (seal, grant, E, D - timedelta(days=1)),
        (seal, grant, E, D + timedelta(days=10)),
    ]
    for s, g, e, today in refusals:
        with pytest.raises(errors.NotAuthorized):
            grant_rules.check_stamp(s, g, enterprise_id=e, today=today)
    revoked = seal_rules.fold([issued(), SealRevoked(seal_id=S, enterprise_id=E, revoked_by=E,
                                                     revoked_at=datetime.now(UTC))])
    with pytest.raises(errors.SealRevoked):
        grant_rules.check_stamp(revoked, grant, enterprise_id=E, today=D)


# --- signatures ---------------------------------------------------------------------------


def test_signature_folds_and_deletes_once() -> None:
    sid = uuid.uuid4()
    created = PersonalSignatureCreated(signature_id=sid, person_id=P, method="generated")
    sig = signature_rules.fold([created])
    assert sig is not None and not sig.deleted
    gone = signature_rules.fold([created, signature_rules.delete_signature(sig)])
    assert gone is not None and gone.deleted and gone.version == 2
    with pytest.raises(errors.SignatureNotFound):
        signature_rules.delete_signature(gone)
    assert signature_rules.fold([created, PersonalSignatureDeleted(signature_id=sid, person_id=P)])




# --- who may act ----------------------------------------------------------------------------


def agent(**kw: object) -> AgentRecord:
    base: dict[str, object] = {"agent_id": uuid.uuid4(), "enterprise_id": E, "valid_from": D,
                               "valid_to": D + timedelta(days=9), "can_manage": True, "removed": False}
    base.update(kw)
    return AgentRecord(**base)  # type: ignore[arg-type]


def principal(role: str, *, mgr: bool | None = None) -> Principal:
    pid = E if role == "enterprise" else uuid.uuid4()
    return Principal(id=pid, role=role, name="x", enterprise_id=None if role == "person" else E,
                     can_manage=mgr)  # type: ignore[arg-type]


def test_enterprise_account_may_do_everything() -> None:
    op = decide_operator(principal("enterprise"), None, D, manage=True)
    assert op.enterprise_id == E and op.can_manage


def test_agent_decisions_come_from_the_directory_not_the_token() -> None:
    p = principal("agent", mgr=True)
    with pytest.raises(errors.ManagementPermissionRequired):
        decide_operator(p, agent(can_manage=False), D, manage=True)
    assert decide_operator(p, agent(can_manage=False), D, manage=False).can_manage is False
    assert decide_operator(principal("agent", mgr=False), agent(), D, manage=True).can_manage
    for record, today in ((agent(removed=True), D), (agent(), D - timedelta(days=1)),
                          (agent(), D + timedelta(days=10)), (agent(enterprise_id=uuid.uuid4()), D),
                          (agent(valid_from=None), D)):
        with pytest.raises(errors.AgentNotValid):
            decide_operator(p, record, today, manage=False)


def test_unknown_agent_reads_on_its_token_but_cannot_change() -> None:
    p = principal("agent", mgr=True)
    assert decide_operator(p, None, D, manage=False).enterprise_id == E
    with pytest.raises(errors.AgentNotSynchronized):
        decide_operator(p, None, D, manage=True)


def test_persons_do_not_act_for_enterprises() -> None:
    with pytest.raises(Forbidden):
        enterprise_of(principal("person"))


# --- rendering refusals as problems -----------------------------------------------------------


def test_rendering_refusals_become_problems_naming_the_field() -> None:
    p = image_problem(UnsupportedCharacters(["\ue000"]), "name")
    assert (p.status, p.code, p.errors[0]["field"]) == (422, "unsupported_characters", "name")
    assert p.extra["characters"] == [{"char": "\ue000", "codepoint": "U+E000"}]
    assert image_problem(UnknownSealType("x"), "name").errors[0]["field"] == "type"
    assert image_problem(NameTooLong(51, 50), "name").code == "name_too_long"
    big = image_problem(ImageTooLarge("too big"), "image_png")
    assert (big.status, big.code) == (413, "image_too_large")


def test_gbt_38540_seal_type_of_each_platform_type() -> None:
    from seals.service_layer.esl import gbt_type

    assert gbt_type("legal_representative") == 2  # a person's name seal
    assert {gbt_type(t) for t in ("official", "contract", "finance", "hr", "invoice")} == {1}
