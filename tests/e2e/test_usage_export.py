"""Exporting usage records (导出, issue 16) on the whole platform, through the gateway: two real
stamps with two seals of one enterprise; the enterprise downloads them as CSV (read with
``csv``: BOM, Chinese headers, China time, the injection guard) and as XLSX (read with
``openpyxl``), filtered by seal; a person may not export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import quote

import openpyxl
import pytest

from shared.china_time import CHINA_TZ
from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    request_pdf,
    scan,
    stamp,
)
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf

pytestmark = pytest.mark.e2e

EXPORT = "/api/v1/usage-records/export"
HEADERS = ["使用时间", "使用人", "企业名称", "印章名称", "印章类型", "文件名称", "文件摘要(SHA-256)",
           "盖章系统", "盖章方式/格式", "签名算法", "记录编号", "请求编号"]


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), body[:16]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]


async def test_the_enterprise_exports_its_stamps(api: Api, platform: Platform) -> None:
    enterprise = await new_enterprise(api)
    official = await new_seal(api, enterprise, "official")
    contract = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    for seal in (official, contract):
        await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "@导出测试系统")
    client.token = await client_token(api, client)
    pdf = make_test_pdf(pages=2)
    stamped: dict[str, str] = {}
    for seal, title in ((official, "=1+1 采购合同"), (contract, "年度合同")):
        created = await request_pdf(api, client.token, pdf, page=1, title=title)
        assert created.status == 201, created
        assert (await scan(api, person, created.json["qr_payload"])).status == 200
        done = await stamp(api, person, created.json["request_id"], seal, password=CERT_PASSWORD)
        assert done.status == 201, done
        stamped[seal["seal_id"]] = done.json["record_id"]

    r = await api.get(EXPORT, token=enterprise.token)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''" + quote("印章使用记录_") in r.headers["Content-Disposition"]
    rows = _csv(r.body)
    assert [row["记录编号"] for row in rows] == [stamped[contract["seal_id"]], stamped[official["seal_id"]]]
    first = rows[1]
    assert first["使用人"] == person.name and first["企业名称"] == enterprise.name
    assert first["印章名称"] == official["name"] and first["印章类型"] == "法定名称章"
    assert first["文件名称"] == "'=1+1 采购合同" and first["盖章系统"] == "'@导出测试系统"
    assert first["盖章方式/格式"].startswith("PDF") and len(first["文件摘要(SHA-256)"]) == 64
    listed = await api.get("/api/v1/usage-records", token=enterprise.token)
    used_at = {i["record_id"]: i["used_at"] for i in listed.json["items"]}[first["记录编号"]]
    china = datetime.fromisoformat(used_at.replace("Z", "+00:00")).astimezone(CHINA_TZ)
    assert first["使用时间"] == china.strftime("%Y-%m-%d %H:%M:%S")

    r = await api.get(EXPORT, token=enterprise.token,
                      params={"seal_id": contract["seal_id"], "format": "xlsx"})
    assert r.status == 200, r
    assert r.headers["Content-Disposition"].endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.body)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADERS
    assert [row[HEADERS.index("记录编号")] for row in values[1:]] == [stamped[contract["seal_id"]]]
    assert values[1][HEADERS.index("印章类型")] == "合同专用章"

    refused = await api.get(EXPORT, token=person.token)
    assert (refused.status, refused.json["code"]) == (403, "role_not_allowed"), refused
