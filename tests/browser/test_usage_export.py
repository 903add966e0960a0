"""导出 of 印章使用记录, in a phone browser (375×667) against the real platform: the enterprise
opens 我的 → 印章使用记录, picks its seal, taps 导出 and gets the file as a download, first CSV (UTF-8 with a
BOM, the Chinese headers, the stamp's row), then Excel (an .xlsx workbook, the same headers).

The stamp itself is made through the API (test_stamping_journey shows those screens).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.async_api import expect

from tests.conftest import Platform
from tests.e2e.test_usage_export import HEADERS
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.relying import client_token, create_client, request_pdf_stamp

from .conftest import OpenScreen
from .screen import Screen
from .steps import contract_pdf_bytes, login, toast_gone
from .test_placements_preview import person_with_seals

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TITLE = "采购合同（导出）"


async def export(screen: Screen, choice: str, tmp_path: Path) -> Path:
    """导出 → ``choice`` in the sheet; the downloaded file, saved under ``tmp_path``."""
    await screen.page.locator("[data-test=usage-export]").click()
    sheet = screen.page.locator("[data-test=usage-export-sheet]")
    await expect(sheet).to_contain_text("按当前时间段和印章导出使用记录")
    async with screen.page.expect_download() as info:
        await sheet.get_by_role("button", name=choice).click()
    download = await info.value
    assert download.suggested_filename.startswith("印章使用记录"), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    await download.save_as(str(saved))
    await expect(screen.page.locator(".van-toast:visible")).to_contain_text("已导出")
    await toast_gone(screen)
    return saved


async def test_the_enterprise_exports_its_usage_records_as_csv_and_excel(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    ent, person, cert_pw = await person_with_seals(api, "contract")
    token = await client_token(api, await create_client(platform, "合同签署系统（演示）"))
    created = await request_pdf_stamp(api, token, contract_pdf_bytes(), title=TITLE, page=1, x=300, y=300)
    assert created.status == 201, created
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    scanned = await api.post("/api/v1/scans", token=person_token,
                             json={"qr_payload": created.json["qr_payload"]})
    assert scanned.status == 200, scanned
    choice = scanned.json["choices"][0]
    rid = created.json["request_id"]
    stamped = await api.post(f"/api/v1/stamp-requests/{rid}/stamp", token=person_token, json={
        "enterprise_id": choice["enterprise_id"], "seal_id": choice["seals"][0]["seal_id"],
        "certificate_password": cert_pw})
    assert stamped.status == 201, stamped

    e = await open_screen("enterprise")
    await login(e, "enterprise", ent["uscc"], ent["password"])
    await e.goto("/app/mine")
    await e.page.locator("[data-test=mine-records]").click()
    await expect(e.page).to_have_url(e.base_url + "/app/records")
    await expect(e.page.locator("[data-test=usage-record]")).to_have_count(1)
    await expect(e.page.locator("[data-test=usage-record]")).to_contain_text(TITLE)
    # the seal filter asks again for that seal's records (and the export follows it)
    seal = choice["seals"][0]
    await e.page.locator(".van-dropdown-menu__item").nth(1).click()
    async with e.page.expect_request(re.compile(rf"/api/v1/usage-records\?.*seal_id={seal['seal_id']}")):
        await e.page.locator(".van-dropdown-item__option:visible").filter(has_text=seal["name"]).click()
    await expect(e.page.locator("[data-test=usage-record]")).to_have_count(1)
    await e.page.locator("[data-test=usage-export]").click()
    await expect(e.page.locator("[data-test=usage-export-sheet]")).to_contain_text("导出 Excel")
    await e.shot("77-usage-export-sheet")
    await e.page.get_by_role("button", name="取消").click()
    await expect(e.page.locator("[data-test=usage-export-sheet]")).to_be_hidden()

    saved = await export(e, "导出 CSV", tmp_path)
    assert saved.suffix == ".csv", saved
    body = saved.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf"), body[:16]  # a BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADERS, rows[0]
    assert len(rows) == 2, rows
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row["文件名称"] == TITLE and row["使用人"] == person["name"], row
    assert row["记录编号"] == stamped.json["record_id"], row

    saved = await export(e, "导出 Excel", tmp_path)
    assert saved.suffix == ".xlsx", saved
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    assert sheet is not None
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == HEADERS, table[0]
    assert len(table) == 2 and TITLE in table[1], table
