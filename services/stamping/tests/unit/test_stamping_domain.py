"""Pure rules of the stamping domain: QR payloads, the signed description, webhooks, windows."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from stamping.adapters.credentials import ClientTokens, is_client_token
from stamping.domain import qr, rules, webhooks
from stamping.domain import stamp_request as stamp_requests
from stamping.domain.authorization import StampAuthorization, rfc3339
from stamping.domain.errors import AlreadyStamped, InvalidClientToken, RequestExpired

from shared.catalog import StampApplied, StampRequested, StampRequestExpired
from shared.errors import EsealError

NOW = datetime(2026, 5, 31, 8, 0, tzinfo=UTC)


def test_qr_payload_round_trips_and_carries_a_256_bit_token() -> None:
    rid = uuid.uuid4()
    token = qr.new_token()
    payload = str(qr.QrPayload(rid, token))
    assert payload.startswith("eseal://stamp?r=")
    parsed = qr.parse(payload)
    assert parsed == qr.QrPayload(rid, token)
    assert len(token) == 43 and len({qr.new_token() for _ in range(100)}) == 100
    assert qr.token_matches(token, qr.token_hash(token))
    assert not qr.token_matches(qr.new_token(), qr.token_hash(token))


@pytest.mark.parametrize("payload", [
    "https://example.com/?r=1&t=2", "eseal://login?r=x&t=y", "eseal://stamp?r=not-a-uuid&t=" + "a" * 43,
    f"eseal://stamp?r={uuid.uuid4()}", f"eseal://stamp?r={uuid.uuid4()}&t=short",
    f"eseal://stamp?r={uuid.uuid4()}&t={'a' * 42}$", "x" * 600,
])
def test_foreign_or_broken_payloads_are_unreadable(payload: str) -> None:
    with pytest.raises(EsealError) as e:
        qr.parse(payload)
    assert e.value.status == 422 and e.value.code == "qr_unreadable"


def test_the_signed_description_is_canonical() -> None:
    a = StampAuthorization(uuid.UUID(int=1), "ab" * 32, uuid.UUID(int=2), uuid.UUID(int=3),
                           uuid.UUID(int=4), NOW)
    text = a.canonical()
    body = json.loads(text)
    assert list(body) == sorted(body) and " " not in text
    assert body["time"] == "2026-05-31T08:00:00.000Z" and body["purpose"] == "eseal.stamp-authorization"
    assert a.digest() == StampAuthorization(*[getattr(a, f) for f in a.__dataclass_fields__]).digest()
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 1, 1))


def test_webhook_signatures_verify_and_expire() -> None:
    body = b'{"event":"stamp_request.stamped"}'
    header = webhooks.sign("whsec_k", body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert webhooks.verify("whsec_k", body, header, now=1_700_000_100)
    assert not webhooks.verify("whsec_other", body, header, now=1_700_000_100)
    assert not webhooks.verify("whsec_k", body + b" ", header, now=1_700_000_100)
    assert not webhooks.verify("whsec_k", body, header, now=1_700_001_000)  # replayed too late
    assert not webhooks.verify("whsec_k", body, "garbage")


def test_webhook_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [webhooks.next_delay(n, 2.0, 60.0, rng) for n in range(1, 10)]
    assert 1.6 <= delays[0] <= 2.4 and all(d <= 72.0 for d in delays)
    assert delays[4] > delays[0] * 8 * 0.8 / 1.2


def test_the_usage_window_is_three_calendar_months() -> None:
    assert rules.months_before(NOW, 3) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)
    assert rules.months_before(datetime(2026, 1, 15, tzinfo=UTC), 3) == datetime(2025, 10, 15, tzinfo=UTC)
    start, end = rules.usage_window(NOW, NOW - timedelta(days=365), None)
    assert start == datetime(2026, 2, 28, 8, 0, tzinfo=UTC) and end == NOW
    start, end = rules.usage_window(NOW, NOW - timedelta(days=3), NOW + timedelta(days=3))
    assert start == NOW - timedelta(days=3) and end == NOW


@pytest.mark.parametrize("url,private_ok,accepted", [
    ("https://approvals.gov.cn/hooks/eseal", False, True),
    ("http://127.0.0.1:9000/hook", True, True),
    ("http://127.0.0.1:9000/hook", False, False),
    ("http://localhost/hook", False, False),
    ("http://10.1.2.3/hook", False, False),
    ("http://[::1]/hook", False, False),
    ("http://169.254.169.254/latest/meta-data", False, False),
    ("ftp://example.com/x", True, False),
    ("https://user:pw@example.com/x", True, False),
    ("https:///nohost", True, False),
])
def test_callback_urls(url: str, private_ok: bool, accepted: bool) -> None:
    if accepted:
        assert rules.check_callback_url(url, allow_private=private_ok) == url
    else:
        with pytest.raises(EsealError) as e:
            rules.check_callback_url(url, allow_private=private_ok)
        assert e.value.status == 422 and e.value.code == "callback_url_invalid"


def _requested(rid: uuid.UUID, expires: datetime) -> StampRequested:
    return StampRequested(request_id=rid, client_id="c", title="t", document_sha256="ab" * 32,
                          expires_at=expires)


def test_the_request_aggregate_folds_its_events() -> None:
    rid = uuid.uuid4()
    pending = stamp_requests.fold(rid, [_requested(rid, NOW + timedelta(minutes=10))])
    assert pending.version == 1 and pending.visible_status(NOW) == "pending"
    stamp_requests.check_stampable(pending, NOW)
    assert pending.visible_status(NOW + timedelta(minutes=10)) == "expired"
    with pytest.raises(RequestExpired):
        stamp_requests.check_stampable(pending, NOW + timedelta(minutes=11))
    stamped = stamp_requests.fold(rid, [_requested(rid, NOW), StampApplied(
        record_id=uuid.uuid4(), request_id=rid, seal_id=uuid.uuid4(), enterprise_id=uuid.uuid4(),
        person_id=uuid.uuid4(), document_sha256="ab" * 32, stamped_at=NOW, client_id="c")])
    assert stamped.version == 2 and stamped.status == "stamped"
    with pytest.raises(AlreadyStamped):
        stamp_requests.check_stampable(stamped, NOW - timedelta(hours=1))
    expired = stamp_requests.fold(rid, [_requested(rid, NOW),
                                        StampRequestExpired(request_id=rid, client_id="c")])
    assert expired.status == "expired" and expired.visible_status(NOW - timedelta(hours=1)) == "expired"
    assert stamp_requests.expire(pending) == [StampRequestExpired(request_id=rid, client_id="c")]
    assert stamp_requests.expire(stamped) == [] and stamp_requests.expire(expired) == []
    assert not stamp_requests.fold(rid, []).exists


def _facts(record_id: uuid.UUID) -> stamp_requests.StampFacts:
    return stamp_requests.StampFacts(
        record_id=record_id, stamped_at=NOW, person_id=uuid.uuid4(), person_name="张三",
        enterprise_id=uuid.uuid4(), enterprise_name="某某有限公司", seal_id=uuid.uuid4(),
        seal_name="合同专用章", seal_type="contract", kind="pdf", client_id="c", requester="某系统",
        authorization="{}", person_signature=b"sig", person_signature_algorithm="ecdsa-p256-sha256",
        person_certificate_serial="01", seal_certificate_serial="02", result_sha256="cd" * 32,
        seal_signature_sha256="ef" * 32)


def test_a_pending_request_takes_exactly_one_stamp() -> None:
    rid, record = uuid.uuid4(), uuid.uuid4()
    pending = stamp_requests.fold(rid, [_requested(rid, NOW + timedelta(minutes=10))])
    events = stamp_requests.apply_stamp(pending, _facts(record))
    applied, usage = events
    assert isinstance(applied, StampApplied) and applied.record_id == record
    assert applied.document_sha256 == "ab" * 32 and applied.document_title == "t"
    assert usage.record_id == record and usage.person_signature_b64 == "c2ln"  # type: ignore[attr-defined]
    stamped = stamp_requests.fold(rid, [_requested(rid, NOW), *events])
    with pytest.raises(AlreadyStamped):
        stamp_requests.apply_stamp(stamped, _facts(uuid.uuid4()))
    expired = stamp_requests.fold(rid, [_requested(rid, NOW),
                                        StampRequestExpired(request_id=rid, client_id="c")])
    with pytest.raises(RequestExpired):
        stamp_requests.apply_stamp(expired, _facts(uuid.uuid4()))


def test_a_request_of_personal_signatures_alone_ends_signed_once() -> None:
    rid, record = uuid.uuid4(), uuid.uuid4()
    pending = stamp_requests.fold(rid, [_requested(rid, NOW + timedelta(minutes=10))])
    facts = {"record_id": record, "person_id": uuid.uuid4(), "signed_at": NOW,
             "placement_indexes": [0], "certificate_serial": "01", "signature_sha256": "ab" * 32,
             "result_sha256": "cd" * 32}
    events = stamp_requests.apply_signature(pending, **facts)  # type: ignore[arg-type]
    signed = stamp_requests.fold(rid, [_requested(rid, NOW), *events])
    assert signed.status == "stamped" and signed.record_id == record and signed.version == 2
    assert [e.event_type for e in events] == ["RequestSigned"]  # no StampApplied: no seal used
    with pytest.raises(AlreadyStamped):
        stamp_requests.apply_signature(signed, **facts)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signature placement"):
        stamp_requests.apply_signature(pending, **{**facts, "placement_indexes": []})  # type: ignore[arg-type]


def test_client_tokens_are_hs256_and_checked() -> None:
    tokens = ClientTokens(b"k" * 32, ttl=60)
    cid = uuid.uuid4()
    token = tokens.issue(cid)
    assert is_client_token(token) and tokens.verify(token) == cid
    with pytest.raises(InvalidClientToken):
        ClientTokens(b"x" * 32, ttl=60).verify(token)
    expired = ClientTokens(b"k" * 32, ttl=-120).issue(cid)
    with pytest.raises(InvalidClientToken) as e:
        tokens.verify(expired)
    assert e.value.code == "token_expired"
    assert not is_client_token("not.a.jwt")
