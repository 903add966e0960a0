"""The evidence report of a usage record (出证报告) on the whole platform, through the gateway:
a real stamp, then the report as the enterprise, its manager agent and the person who stamped
(a clerk agent, another person, another enterprise: 404); pyHanko validates the report's
signature trusting only the platform root and finds the platform's own certificate; the text
(pdfminer) shows the title, the SHA-256, masked ID numbers and the event ids of the timeline;
``POST /api/v1/verifications`` shows the report passed and signed by the platform."""

from __future__ import annotations

import hashlib
import io
import re
import uuid

import pytest
from pdfminer.high_level import extract_text

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    pyhanko_validation,
    request_pdf,
    scan,
    stamp,
    verify,
)
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf

pytestmark = pytest.mark.e2e

TITLE = "电子印章使用出证报告"


def _evidence(record_id: str) -> str:
    return f"/api/v1/usage-records/{record_id}/evidence.pdf"


def _text(pdf: bytes) -> str:
    """The report's text, whitespace (and the layout's line breaks) removed."""
    return re.sub(r"\s+", "", extract_text(io.BytesIO(pdf)))


async def _agent_token(api: Api, enterprise_token: str, uscc: str, *, can_manage: bool) -> str:
    added = await ids.add_agent(api, enterprise_token, can_manage=can_manage)
    session = await ids.login(api, "agent", added["phone"], added["password"], enterprise_uscc=uscc)
    return str(session["access_token"])


async def test_the_evidence_report_is_sealed_by_the_platform_and_told_from_its_records(
        api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "出证测试系统")
    client.token = await client_token(api, client)
    pdf = make_test_pdf(pages=2)
    created = await request_pdf(api, client.token, pdf, page=1, title="房屋租赁合同")
    assert created.status == 201, created
    request_id = created.json["request_id"]
    assert (await scan(api, person, created.json["qr_payload"])).status == 200
    done = await stamp(api, person, request_id, seal, password=CERT_PASSWORD)
    assert done.status == 201, done
    record_id = done.json["record_id"]
    listed = await api.get("/api/v1/usage-records", token=enterprise.token)
    record = next(i for i in listed.json["items"] if i["record_id"] == record_id)

    # the enterprise gets it: a PDF named for the record
    r = await api.get(_evidence(record_id), token=enterprise.token)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store"
    assert f"evidence-{record_id}.pdf" in r.headers["Content-Disposition"]
    report = r.body

    # pyHanko, trusting only the platform root: intact, valid, trusted, timestamped, signed by
    # the platform's own certificate (not a seal's, not a person's)
    root_pem = (await api.get("/api/v1/ca/root.pem")).body
    status, dss = await pyhanko_validation(report, root_pem)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert dss.crls, "revocation information is embedded"
    subject = status.signing_cert.subject.native
    assert subject["organization_name"] == "eseal platform"
    assert subject["common_name"] == "eseal Platform Sealing Certificate"

    # what it says, from the platform's records
    text = _text(report)
    assert TITLE in text
    assert "房屋租赁合同" in text and record["document_sha256"] in text
    assert "出证测试系统" in text
    assert person.name in text and seal["name"] in text and enterprise.name in text
    id_number = person.body["id_number"]
    assert id_number not in text and f"*{id_number[-4:]}" in text  # masked: only the last 4
    uscc = enterprise.body["uscc"]
    assert uscc not in text and f"*{uscc[-4:]}" in text
    event_ids = re.findall(r"事件编号：([0-9a-f-]{36})", text)
    assert len(event_ids) >= 4, text  # created, scanned, password (authorization), stamped
    assert all(uuid.UUID(e) for e in event_ids)
    for label in ("创建盖章请求", "扫描二维码", "输入证书密码", "审批", "加盖", "时间戳"):
        assert label in text, label
    for serial in (re.findall(r"序列号([0-9A-F]+)", text)):
        assert len(serial) >= 8
    assert "有效期" in text and "验证结论：通过" in text

    # POST /api/v1/verifications: passed, signed by the platform
    verified = await verify(api, report)
    assert verified.status == 200, verified
    assert verified.json["result"] == "passed", verified.json
    (sig,) = verified.json["signatures"]
    assert sig["kind"] == "platform" and sig["signer_name"] == "电子印章平台", sig
    assert sig["trusted"] and sig["intact"] and sig["timestamped"], sig

    # a changed byte in the report is caught
    tampered = bytearray(report)
    tampered[len(report) // 3] ^= 0x01  # inside the report's first revision, under the signature
    assert (await verify(api, bytes(tampered))).json["result"] != "passed"

    # the person who stamped gets it too; a manager agent of the enterprise as well
    assert (await api.get(_evidence(record_id), token=person.token)).status == 200
    manager = await _agent_token(api, enterprise.token, uscc, can_manage=True)
    assert (await api.get(_evidence(record_id), token=manager)).status == 200

    # everyone else: 404, the record's existence not revealed
    clerk = await _agent_token(api, enterprise.token, uscc, can_manage=False)
    stranger = await new_person(api, certificate=False)
    other = await new_enterprise(api)
    for token in (clerk, stranger.token, other.token):
        refused = await api.get(_evidence(record_id), token=token)
        assert (refused.status, refused.json["code"]) == (404, "usage_record_not_found"), refused
    unknown = await api.get(_evidence(str(uuid.uuid4())), token=enterprise.token)
    assert (unknown.status, unknown.json["code"]) == (404, "usage_record_not_found"), unknown
    assert (await api.get(_evidence("not-a-uuid"), token=enterprise.token)).status == 404
    # a relying system's token is no user's, no token at all is 401
    assert (await api.get(_evidence(record_id), token=client.token)).status in (401, 403)
    assert (await api.get(_evidence(record_id))).status == 401


async def test_a_digest_stamp_has_a_report_that_says_the_platform_never_saw_the_document(
        api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "摘要出证系统")
    client.token = await client_token(api, client)
    digest = hashlib.sha256(b"a document the platform never sees").hexdigest()
    created = await api.post("/api/v1/stamp-requests", token=client.token,
                             json={"title": "电子公文摘要", "digest_sha256": digest})
    assert created.status == 201, created
    assert (await scan(api, person, created.json["qr_payload"])).status == 200
    done = await stamp(api, person, created.json["request_id"], seal)
    assert done.status == 201, done

    r = await api.get(_evidence(done.json["record_id"]), token=person.token)
    assert r.status == 200, r
    text = _text(r.body)
    assert "电子公文摘要" in text and digest in text and "文件摘要（平台未见原文）" in text
    assert "须与原文一并验证" in text
    assert "时间戳服务（RFC3161）签发时间戳" in text  # the time from the detached signature's token
    verified = await verify(api, r.body)
    assert verified.json["result"] == "passed", verified.json
    assert verified.json["signatures"][0]["kind"] == "platform"
