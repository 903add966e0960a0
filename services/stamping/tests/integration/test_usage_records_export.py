"""Exporting usage records (导出, issue 16) through the gateway: CSV (UTF-8 with a BOM) read
with ``csv``, XLSX read with ``openpyxl``; the list's window and filters; who may export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import openpyxl
import pytest
from stamping.adapters.usage_export import HEADERS
from stamping.service_layer import usage

from shared.china_time import CHINA_TZ
from tests.support.harnesses.stamping import Harness

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPORT = "/api/v1/usage-records/export"


async def _stamp(h: Harness, client_token: str, seal, person, title: str) -> str:  # type: ignore[no-untyped-def]
    r = await h.request_pdf(client_token, title=title)
    assert r.status == 201, r
    assert (await h.scan(person, r.json["qr_payload"])).status == 200
    stamped = await h.stamp(person, r.json["request_id"], seal)
    assert stamped.status == 201, stamped
    return str(stamped.json["record_id"])


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_enterprise_exports_its_records_as_csv_and_xlsx(stamping: Harness) -> None:
    h = stamping
    _, client_token = await h.new_client("=HYPERLINK(\"http://evil\")审批系统")
    eid = uuid.uuid4()
    official = h.seals.add_seal(eid, "长春市导出测试有限公司")
    contract = h.seals.add_seal(eid, "长春市导出测试有限公司", type="contract", label="合同专用章")
    person = h.person("王导出")
    h.seals.grant(person.id, official.seal_id)
    h.seals.grant(person.id, contract.seal_id)
    first = await _stamp(h, client_token, official, person, "+采购合同")
    second = await _stamp(h, client_token, contract, person, "@年度报告")
    third = await _stamp(h, client_token, official, person, "普通文件")
    _, ent_token = h.signer.enterprise(eid, name="长春市导出测试有限公司")

    r = await h.call("GET", EXPORT, token=ent_token)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-store"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="usage-records_')
    assert "filename*=UTF-8''" + quote("印章使用记录_") in disposition and disposition.endswith(".csv")
    rows = _csv_rows(r.body)
    assert tuple(rows[0]) == HEADERS
    by_id = {row[HEADERS.index("记录编号")]: dict(zip(HEADERS, row, strict=True)) for row in rows[1:]}
    assert list(by_id) == [third, second, first]  # newest first
    one = by_id[first]
    assert one["使用人"] == "王导出" and one["印章类型"] == "法定名称章"
    assert one["文件名称"] == "'+采购合同" and by_id[second]["文件名称"] == "'@年度报告"
    assert by_id[third]["文件名称"] == "普通文件"
    assert one["盖章系统"].startswith("'=HYPERLINK")
    assert by_id[second]["印章类型"] == "合同专用章"
    assert len(one["文件摘要(SHA-256)"]) == 64 and one["盖章方式/格式"].startswith("PDF")
    used_at = await h.sql("SELECT used_at FROM usage_records WHERE record_id = $1", uuid.UUID(first))
    assert one["使用时间"] == used_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")

    # the list's filters: one seal, a window
    r = await h.call("GET", EXPORT, token=ent_token, params={"seal_id": str(contract.seal_id)})
    assert [row[HEADERS.index("记录编号")] for row in _csv_rows(r.body)[1:]] == [second]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    r = await h.call("GET", EXPORT, token=ent_token, params={"from": tomorrow})
    assert _csv_rows(r.body) == [list(HEADERS)]

    # XLSX: the same rows, the same guard (a cell, never a formula)
    r = await h.call("GET", EXPORT, token=ent_token, params={"format": "xlsx"})
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert r.headers["Content-Disposition"].endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.body)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert tuple(values[0]) == HEADERS
    assert [row[HEADERS.index("记录编号")] for row in values[1:]] == [third, second, first]
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row)
    assert values[3][HEADERS.index("文件名称")] == "'+采购合同"

    # a manager agent exports too; an agent without the permission and a person do not
    _, manager = h.signer.agent(eid, can_manage=True)
    assert len(_csv_rows((await h.call("GET", EXPORT, token=manager)).body)) == 4
    _, clerk = h.signer.agent(eid, can_manage=False)
    r = await h.call("GET", EXPORT, token=clerk)
    assert (r.status, r.json["code"]) == (403, "management_permission_required"), r
    r = await h.call("GET", EXPORT, token=person.token)
    assert (r.status, r.json["code"]) == (403, "role_not_allowed"), r
    # another enterprise sees none of these
    _, other = h.signer.enterprise()
    assert _csv_rows((await h.call("GET", EXPORT, token=other)).body) == [list(HEADERS)]
    r = await h.call("GET", EXPORT, token=ent_token, params={"format": "pdf"})
    assert r.status == 422, r
    assert (await h.call("GET", EXPORT)).status == 401


async def test_the_export_keeps_to_three_months_and_reads_every_page(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    _, client_token = await h.new_client()
    eid = uuid.uuid4()
    seal = h.seals.add_seal(eid, "长春市分页测试有限公司")
    person = h.person()
    h.seals.grant(person.id, seal.seal_id)
    record = await _stamp(h, client_token, seal, person, "分页文件")
    copies = [uuid.uuid4() for _ in range(7)]
    for i, rid in enumerate([*copies, uuid.uuid4()]):
        age = "interval '4 months'" if i == len(copies) else f"interval '{i + 1} minutes'"
        await h.sql(
            f"INSERT INTO usage_records SELECT $1, $2, now() - {age}, person_id, user_name,"  # noqa: S608
            " enterprise_id, enterprise_name, seal_id, seal_name, seal_type, document_title,"
            " document_sha256, kind, client_id, requester, authorization_text, person_signature_b64,"
            " person_signature_algorithm, person_certificate_serial, seal_certificate_serial, result_sha256"
            " FROM usage_records WHERE record_id = $3", rid, uuid.uuid4(), uuid.UUID(record))
    _, ent_token = h.signer.enterprise(eid)
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    # pages of 3: the keyset reads all 8 records of the window, none twice, not the old one
    monkeypatch.setattr(usage, "EXPORT_PAGE", 3)
    r = await h.call("GET", EXPORT, token=ent_token, params={"from": year_ago})
    assert r.status == 200, r
    ids = [row[HEADERS.index("记录编号")] for row in _csv_rows(r.body)[1:]]
    assert ids == [record, *map(str, copies)]
