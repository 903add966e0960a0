"""The evidence report's builder (出证报告): who may have it, the timeline from the request's
events and the person's scans (each line naming its event), the text (masked ID numbers), the
PDF it is drawn into (text extraction gives the Chinese back)."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pdfminer.high_level import extract_text
from stamping.adapters.pdf.report import Line, render, wrap
from stamping.service_layer import evidence
from stamping.service_layer.ports import CertificateInfo

from shared.auth import Principal
from shared.eventstore import StoredEvent

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in China
ENTERPRISE, OTHER = uuid.uuid4(), uuid.uuid4()
PERSON = uuid.uuid4()


def _record(**over: Any) -> dict[str, Any]:
    base = {
        "record_id": uuid.uuid4(), "request_id": uuid.uuid4(), "used_at": T0 + timedelta(minutes=5),
        "person_id": PERSON, "user_name": "张三", "enterprise_id": ENTERPRISE,
        "enterprise_name": "吉林省某某科技有限公司", "seal_id": uuid.uuid4(), "seal_name": "合同专用章",
        "seal_type": "contract", "document_title": "房屋租赁合同", "document_sha256": "ab" * 32,
        "kind": "pdf", "client_id": "c-1", "requester": "某某审批系统",
        "authorization_text": json.dumps({"time": "2026-11-02T01:04:30.000Z"}),
        "person_signature_b64": "", "person_signature_algorithm": "ecdsa-p256-sha256",
        "person_certificate_serial": "0A1B", "seal_certificate_serial": "0C2D",
        "result_sha256": "cd" * 32, "seal_signature_sha256": "ef" * 32, "format": "pades",
        "algorithm": "ecdsa-p256-sha256", "placement_index": 0,
    }
    return {**base, **over}


def _event(kind: str, at: datetime, **data: Any) -> StoredEvent:
    return StoredEvent(position=1, xact_id=1, event_id=uuid.uuid4(), stream_id="s",
                       stream_type="stamp_request", version=1, type=kind, schema_version=1,
                       data=data, metadata={}, occurred_at=at)


def _principal(role: str, *, enterprise: uuid.UUID | None = None, can_manage: bool | None = None,
               pid: uuid.UUID | None = None) -> Principal:
    return Principal(id=pid or uuid.uuid4(), role=role, name="x",  # type: ignore[arg-type]
                     enterprise_id=enterprise, can_manage=can_manage)


def test_who_may_have_the_report() -> None:
    r = _record()
    assert evidence.may_see(_principal("person", pid=PERSON), r)
    assert not evidence.may_see(_principal("person"), r)
    assert evidence.may_see(_principal("enterprise", enterprise=ENTERPRISE), r)
    assert not evidence.may_see(_principal("enterprise", enterprise=OTHER), r)
    assert evidence.may_see(_principal("agent", enterprise=ENTERPRISE, can_manage=True), r)
    assert not evidence.may_see(_principal("agent", enterprise=ENTERPRISE, can_manage=False), r)
    assert not evidence.may_see(_principal("agent", enterprise=OTHER, can_manage=True), r)
    # a person who happens to share the enterprise's id is still only a person
    assert not evidence.may_see(_principal("person", enterprise=ENTERPRISE), r)


def _story(r: dict[str, Any]) -> tuple[list[StoredEvent], list[dict[str, Any]]]:
    rid = str(r["record_id"])
    events = [
        _event("StampRequested", T0, expires_at="2026-11-02T01:10:00Z"),
        _event("StampApplied", r["used_at"], record_id=str(uuid.uuid4())),  # another placement's
        _event("StampApplied", r["used_at"], record_id=rid),
        _event("UsageRecorded", r["used_at"], record_id=rid),
    ]
    scans = [{"event_id": uuid.uuid4(), "scanned_at": T0 + timedelta(minutes=1)},
             {"event_id": uuid.uuid4(), "scanned_at": T0 + timedelta(minutes=3)},
             {"event_id": uuid.uuid4(), "scanned_at": T0 + timedelta(minutes=9)}]  # after the stamp
    return events, scans


def test_the_timeline_names_the_event_behind_each_line_in_order() -> None:
    r = _record()
    events, scans = _story(r)
    ts = r["used_at"] + timedelta(seconds=1)
    lines = evidence.timeline(events, scans, r, ts)
    labels = [e.label for e in lines]
    assert [e.event_id for e in lines] == [
        str(events[0].event_id), str(scans[1]["event_id"]), str(events[3].event_id),
        str(events[2].event_id), str(events[2].event_id), None]
    assert "创建盖章请求" in labels[0] and "扫描二维码" in labels[1] and "共扫码 2 次" in labels[1]
    assert "输入证书密码" in labels[2] and lines[2].at == datetime(2026, 11, 2, 1, 4, 30, tzinfo=UTC)
    assert labels[3].startswith("加盖") and "时间戳" in labels[4] and lines[4].at == ts
    assert labels[5].startswith("审批") and lines[5].at is None  # no approval step: no event


def test_an_approved_stamp_shows_the_request_for_approval_and_the_approval() -> None:
    r = _record()
    events, scans = _story(r)
    approver = uuid.uuid4()
    asked = _event("ApprovalRequested", T0 + timedelta(minutes=4), approval_id=str(uuid.uuid4()),
                   approvers=[str(approver), str(uuid.uuid4())], expires_at="2026-11-03T01:04:00Z")
    granted = _event("ApprovalGranted", r["used_at"], approved_by=str(approver),
                     approved_at="2026-11-02T01:04:50Z")
    events = [events[0], asked, granted, *events[1:]]
    lines = evidence.timeline(events, scans, r, None)
    by_event = {e.event_id: e for e in lines}
    assert "提交用印审批" in by_event[str(asked.event_id)].label
    assert "审批人 2 位" in by_event[str(asked.event_id)].detail
    approved = by_event[str(granted.event_id)]
    assert "批准" in approved.label and str(approver) in approved.detail
    assert approved.at == datetime(2026, 11, 2, 1, 4, 50, tzinfo=UTC)
    assert not any(e.event_id is None and e.label.startswith("审批") for e in lines)
    # in order: asked before approved before the seal applied
    order = [e.event_id for e in lines]
    assert order.index(str(asked.event_id)) < order.index(str(granted.event_id))


def test_the_report_text_masks_id_numbers_and_lists_every_event() -> None:
    r = _record()
    events, scans = _story(r)
    cert = CertificateInfo(owner_type="person", serial_number="0A1B",
                           subject="CN=张三,serialNumber=**************002X,C=CN",
                           issuer="CN=eseal Issuing CA", not_before=T0, not_after=T0 + timedelta(days=730),
                           status="active", revoked_at=None, key_algorithm="ecdsa-p256")
    facts = evidence.EvidenceFacts(
        record=r, generated_at=T0 + timedelta(days=1), timeline=evidence.timeline(events, scans, r, None),
        certificates=[evidence.CertificateLine("印章证书", "0C2D", None),
                      evidence.CertificateLine("个人证书", "0A1B", cert)],
        person_id_masked=evidence._serial_number_in(cert.subject),
        enterprise_uscc_masked="**************8Q4A", seal_type_label="合同专用章", seal_status="active",
        timestamp_at=None, verification={"result": "passed", "field_name": "eseal-x", "intact": True,
                                         "trusted": True, "timestamped": True, "reasons": [],
                                         "signed_at": "2026-11-02T01:05:00Z",
                                         "signed_at_source": "timestamp"},
        verification_overall="passed", report_id=uuid.uuid4())
    text = "\n".join(line.text for line in evidence.report_lines(facts))
    assert evidence.TITLE in text and "ab" * 32 in text and "房屋租赁合同" in text
    assert "某某审批系统" in text and "证件号码：**************002X" in text
    assert "统一社会信用代码：**************8Q4A" in text
    assert "有效期：2026-11-02 09:00:00（北京时间） 至 2028-11-01 09:00:00（北京时间）" in text
    assert "（平台证书库中未查到此序列号）" in text  # the seal certificate certs did not find
    named = set(re.findall(r"事件编号：([0-9a-f-]{36})", text))
    assert named == {str(events[0].event_id), str(scans[1]["event_id"]), str(events[3].event_id),
                     str(events[2].event_id)}
    assert "验证结论：通过" in text


def test_subjects_show_id_numbers_and_credit_codes_masked() -> None:
    subject = "CN=合同专用章,OU=合同专用章,2.5.4.97=91220101MA0Y3K8Q4A,O=某某公司,C=CN"
    assert evidence.masked_subject(subject) == (
        "CN=合同专用章,OU=合同专用章,2.5.4.97=**************8Q4A,O=某某公司,C=CN")
    named = "CN=张三,serialNumber=11010519491231002X,organizationIdentifier=91220101MA0Y3K8Q4A"
    assert evidence.masked_subject(named) == (
        "CN=张三,serialNumber=**************002X,organizationIdentifier=**************8Q4A")


def test_an_unmasked_serial_number_is_masked_anyway() -> None:
    assert evidence._serial_number_in("CN=李四,serialNumber=11010519491231002X") == "**************002X"
    assert evidence._serial_number_in("CN=某某公司,O=某某公司") is None


def test_the_signature_of_this_record_is_found_by_field_then_certificate() -> None:
    r = _record(placement_index=1)
    other = {"field_name": f"eseal-{r['request_id']}", "signer_certificate": {"serial": "0c2d"}}
    mine = {"field_name": f"eseal-{r['request_id']}-1", "signer_certificate": {"serial": "0C2D"}}
    stranger = {"field_name": "x", "signer_certificate": {"serial": "FF"}}
    assert evidence.this_signature({"signatures": [other, mine, stranger]}, r) is mine
    assert evidence.this_signature({"signatures": [stranger, other]}, r) is other
    assert evidence.this_signature({"signatures": [stranger]}, r) is None


def test_a_broken_detached_signature_has_no_timestamp() -> None:
    assert evidence.cms_timestamp(b"\x30\x03\x02\x01\x01") is None


def test_the_pdf_gives_its_chinese_text_back_and_wraps_long_values() -> None:
    long_hex = "0123456789abcdef" * 8
    pdf = render([Line(evidence.TITLE, "title"), Line(f"原文 SHA-256：{long_hex}", indent=12),
                  *[Line(f"第{n}行：过程记录") for n in range(90)]], title="t")
    assert pdf.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf))
    flat = re.sub(r"\s+", "", text)
    assert evidence.TITLE in flat and long_hex in flat and "第89行：过程记录" in flat
    assert "第1页/共2页" in flat  # 90 lines take two pages
    assert len(wrap(long_hex, 10, 200)) > 1
