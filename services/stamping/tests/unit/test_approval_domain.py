"""用印审批 on the request aggregate: a waiting request takes no stamp but its approval's,
ends once, and ``ApprovalGranted`` never comes without the stamp."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from stamping.domain import stamp_request as stamp_requests
from stamping.domain.errors import AlreadyStamped, AwaitingApproval, StampRejected

from shared.catalog import ApprovalGranted, ApprovalRejected, ApprovalRequested, StampApplied, StampRequested

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _facts(record_id: uuid.UUID) -> stamp_requests.StampFacts:
    """One seal placement's record, applied on approval."""
    return stamp_requests.StampFacts(
        record_id=record_id, stamped_at=NOW, person_id=uuid.uuid4(), person_name="张三",
        enterprise_id=uuid.uuid4(), enterprise_name="某某有限公司", seal_id=uuid.uuid4(),
        seal_name="合同专用章", seal_type="contract", kind="pdf", client_id="c", requester="某系统",
        authorization="{}", person_signature=b"sig", person_signature_algorithm="ecdsa-p256-sha256",
        person_certificate_serial="01", seal_certificate_serial="02", result_sha256="cd" * 32,
        seal_signature_sha256="ef" * 32)


def _waiting(rid: uuid.UUID) -> tuple[stamp_requests.StampRequest, list[object]]:
    requested = StampRequested(request_id=rid, client_id="c", title="合同", document_sha256="ab" * 32,
                               expires_at=NOW + timedelta(minutes=10))
    pending = stamp_requests.fold(rid, [requested])
    asked = stamp_requests.request_approval(
        pending, approval_id=uuid.uuid4(), enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
        person_name="张三", seal_ids=[uuid.uuid4()], approvers=[uuid.uuid4()], requester="某系统",
        expires_at=NOW + timedelta(hours=24))
    assert [type(e) for e in asked] == [ApprovalRequested]
    return stamp_requests.fold(rid, [requested, *asked]), [requested, *asked]


def test_a_waiting_request_takes_no_other_stamp_and_outlives_its_qr_code() -> None:
    rid = uuid.uuid4()
    waiting, _ = _waiting(rid)
    assert waiting.status == "awaiting_approval" and waiting.approval_id is not None
    with pytest.raises(AwaitingApproval):
        stamp_requests.check_stampable(waiting, NOW)
    with pytest.raises(AwaitingApproval):
        stamp_requests.apply_stamp(waiting, _facts(uuid.uuid4()))
    assert stamp_requests.expire(waiting) == []  # the QR code's expiry no longer applies
    assert not waiting.is_expired(NOW + timedelta(hours=1))
    with pytest.raises(AwaitingApproval):
        stamp_requests.request_approval(
            waiting, approval_id=uuid.uuid4(), enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
            person_name="", seal_ids=[], approvers=[], requester="", expires_at=NOW)


def test_approval_comes_with_the_stamp_and_only_once() -> None:
    rid = uuid.uuid4()
    waiting, history = _waiting(rid)
    approver = uuid.uuid4()
    events = stamp_requests.approve_and_stamp(waiting, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                              approved_by=approver, at=NOW, facts=[_facts(uuid.uuid4())])
    assert [type(e).__name__ for e in events][:2] == ["ApprovalGranted", "StampApplied"]
    granted = events[0]
    assert isinstance(granted, ApprovalGranted) and granted.approved_by == approver
    assert granted.document_title == "合同"
    stamped = stamp_requests.fold(rid, [*history, *events])  # type: ignore[list-item]
    assert stamped.status == "stamped"
    with pytest.raises(AlreadyStamped):
        stamp_requests.approve_and_stamp(stamped, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                         approved_by=approver, at=NOW, facts=[_facts(uuid.uuid4())])
    assert stamp_requests.reject(stamped, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                 cause="expired", at=NOW) == []
    assert any(isinstance(e, StampApplied) for e in events)


@pytest.mark.parametrize("cause", ["rejected", "expired", "seal_revoked", "grant_revoked"])
def test_a_waiting_request_ends_once_whatever_ends_it(cause: str) -> None:
    rid = uuid.uuid4()
    waiting, history = _waiting(rid)
    ended = stamp_requests.reject(waiting, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                  cause=cause, at=NOW, reason="理由")  # type: ignore[arg-type]
    assert len(ended) == 1 and isinstance(ended[0], ApprovalRejected) and ended[0].cause == cause
    rejected = stamp_requests.fold(rid, [*history, *ended])  # type: ignore[list-item]
    assert rejected.status == "rejected"
    assert stamp_requests.reject(rejected, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                 cause="expired", at=NOW) == []
    with pytest.raises(StampRejected):
        stamp_requests.check_stampable(rejected, NOW)
    with pytest.raises(StampRejected):
        stamp_requests.approve_and_stamp(rejected, enterprise_id=uuid.uuid4(), person_id=uuid.uuid4(),
                                         approved_by=uuid.uuid4(), at=NOW, facts=[_facts(uuid.uuid4())])
