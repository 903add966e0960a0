"""The domain side of several seal placements (issue 15): a StampApplied + UsageRecorded per
placement in one append, the request's record the first's; one signed text for all pairs."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from stamping.domain import stamp_request as stamp_requests
from stamping.domain.authorization import StampAuthorization
from stamping.domain.events import UsageRecorded

from shared.catalog import StampApplied, StampRequested

NOW = datetime(2026, 5, 31, 8, 0, tzinfo=UTC)


def _requested(rid: uuid.UUID) -> StampRequested:
    return StampRequested(request_id=rid, client_id="c", title="t", document_sha256="ab" * 32,
                          expires_at=NOW + timedelta(minutes=10))


def _facts(index: int) -> stamp_requests.StampFacts:
    return stamp_requests.StampFacts(
        record_id=uuid.uuid4(), stamped_at=NOW, person_id=uuid.UUID(int=9), person_name="张三",
        enterprise_id=uuid.UUID(int=8), enterprise_name="某某有限公司", seal_id=uuid.uuid4(),
        seal_name="合同专用章", seal_type="contract", kind="pdf", client_id="c", requester="某系统",
        authorization="{}", person_signature=b"sig", person_signature_algorithm="ecdsa-p256-sha256",
        person_certificate_serial="01", seal_certificate_serial="02", result_sha256="cd" * 32,
        seal_signature_sha256=f"{index:02x}" * 32, placement_index=index)


def test_each_seal_placement_is_its_own_stamp_in_one_append() -> None:
    rid = uuid.uuid4()
    pending = stamp_requests.fold(rid, [_requested(rid)])
    facts = [_facts(2), _facts(0), _facts(1)]
    events = stamp_requests.apply_stamp(pending, facts)
    applied = [e for e in events if isinstance(e, StampApplied)]
    usage = [e for e in events if isinstance(e, UsageRecorded)]
    by_index = sorted(facts, key=lambda f: f.placement_index)
    assert [e.record_id for e in applied] == [f.record_id for f in by_index]
    assert [e.placement_index for e in usage] == [0, 1, 2]
    stamped = stamp_requests.fold(rid, [_requested(rid), *events])
    assert stamped.status == "stamped" and stamped.record_id == by_index[0].record_id
    assert stamped.version == 1 + len(events)


def test_one_placement_twice_or_none_is_refused() -> None:
    rid = uuid.uuid4()
    pending = stamp_requests.fold(rid, [_requested(rid)])
    with pytest.raises(ValueError):
        stamp_requests.apply_stamp(pending, [_facts(0), _facts(0)])
    same = _facts(0)
    with pytest.raises(ValueError):
        stamp_requests.apply_stamp(pending, [same, replace(same, placement_index=1)])
    with pytest.raises(ValueError):
        stamp_requests.apply_stamp(pending, [])


def test_older_usage_events_read_as_placement_zero() -> None:
    body = json.loads(_single_event_json())
    body.pop("placement_index")
    assert UsageRecorded.model_validate(body).placement_index == 0


def _single_event_json() -> str:
    rid = uuid.uuid4()
    [_, usage] = stamp_requests.apply_stamp(stamp_requests.fold(rid, [_requested(rid)]), _facts(0))
    return usage.model_dump_json()


def _authorization(**over: object) -> StampAuthorization:
    base = StampAuthorization(uuid.UUID(int=1), "ab" * 32, uuid.UUID(int=2), uuid.UUID(int=3),
                              uuid.UUID(int=4), NOW)
    return replace(base, **over)  # type: ignore[arg-type]


SINGLE = ('{"document_sha256":"' + "ab" * 32 + '","enterprise_id":"00000000-0000-0000-0000-000000000003",'
          '"person_id":"00000000-0000-0000-0000-000000000004","purpose":"eseal.stamp-authorization",'
          '"request_id":"00000000-0000-0000-0000-000000000001",'
          '"seal_id":"00000000-0000-0000-0000-000000000002","time":"2026-05-31T08:00:00.000Z","v":1}')


def test_the_single_seal_text_is_byte_identical_to_before() -> None:
    assert _authorization().canonical() == SINGLE
    # one seal placement: the same text (older stamps verify unchanged)
    assert _authorization(placements=((0, uuid.UUID(int=2)),)).canonical() == SINGLE


def test_several_placements_are_all_in_the_signed_text() -> None:
    a = _authorization(placements=((1, uuid.UUID(int=5)), (0, uuid.UUID(int=2))))
    body = json.loads(a.canonical())
    assert body["placements"] == [{"index": 0, "seal_id": str(uuid.UUID(int=2))},
                                  {"index": 1, "seal_id": str(uuid.UUID(int=5))}]
    assert a.digest() != _authorization().digest()
    assert a.digest() != _authorization(placements=((0, uuid.UUID(int=2)), (1, uuid.UUID(int=6)))).digest()
