"""个人签名记录, in a phone browser (375×667) against the real platform:

a person (in no enterprise, granted no seal) with a 个人签名 and an activated certificate finds
no signature record yet (我的 → 个人签名记录); signs a request whose two placements are both
their signature; from 签名成功 opens 个人签名记录 and sees the record as
`GET /signature-records` gives it (document, relying system, signer, both placements, the
certificate, the record id), also over a shorter period; 个人电子签名 links there too.

The certificate and the signature are set up by API (test_signature.py and
test_signature_only.py show those screens).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.relying import client_token, create_client

from .conftest import OpenScreen
from .steps import contract_pdf_bytes, enter_certificate_password, login, person_with_signature
from .test_batches_and_signature import qr_photo

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

RELYING = "个人签名记录系统（演示）"
TITLE = "个人声明书"


async def test_a_signature_made_in_a_stamp_is_listed_in_the_persons_signature_records(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    person, person_token, cert_pw = await person_with_signature(api)  # in no enterprise
    token = await client_token(api, await create_client(platform, RELYING))
    form = aiohttp.FormData()
    form.add_field("title", TITLE)
    form.add_field("placements", json.dumps([{"kind": "signature", "page": 1, "x": 300, "y": 200},
                                             {"kind": "signature", "page": 2, "x": 300, "y": 200}]))
    form.add_field("document", contract_pdf_bytes("Personal Statement"), filename="statement.pdf",
                   content_type="application/pdf")
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    request_id = created.json["request_id"]
    photo = qr_photo(created.json["qr_payload"], tmp_path / "statement-qr.png")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    # before signing: 我的 → 个人签名记录 is empty
    await p.goto("/app/mine")
    await p.page.locator("[data-test=mine-signature-records]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature-records$"))
    await expect(p.page.locator(".van-nav-bar__title")).to_have_text("个人签名记录")
    await expect(p.page.locator("[data-test=records-empty]")).to_contain_text("暂无个人签名记录")
    await expect(p.page.locator("[data-test=signature-record]")).to_have_count(0)

    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(rf"/app/stamp/{request_id}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text(TITLE)

    # sign it: both placements with the person's signature, the certificate password alone
    confirm = p.page.locator("[data-test=stamp-confirm]")
    await expect(confirm).to_contain_text("确认签名")
    await expect(confirm).to_be_enabled()
    await confirm.click()
    await enter_certificate_password(p, cert_pw)
    done = p.page.locator("[data-test=stamp-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-kind", "signature")

    listed = await api.get("/api/v1/signature-records", token=person_token)
    assert listed.status == 200, listed
    [record] = listed.json["items"]
    assert record["request_id"] == request_id and record["placements"] == [0, 1], record

    # 签名成功 → 查看个人签名记录: the record, as the API gives it
    await p.page.locator("[data-test=stamp-done-signature-records]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature-records$"))
    card = p.page.locator("[data-test=signature-record]")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(TITLE)
    await expect(card).to_contain_text(RELYING)
    await expect(card).to_contain_text(person["name"])
    await expect(card).to_contain_text(record["certificate_serial"])
    await expect(card.locator("[data-test=signature-record-placements]")).to_have_text(
        "签名位置2 处（第 1、2 处）")
    await expect(card.locator("[data-test=signature-record-format]")).to_have_text(
        "签名算法PDF 签名（ECDSA P-256）")
    record_id = card.locator("[data-test=signature-record-id]")
    await expect(record_id).to_have_text(f"记录编号{record['record_id']}")
    await expect(p.page.locator("[data-test=records-empty]")).to_have_count(0)
    await expect(p.page.get_by_text("没有更多了")).to_be_visible()
    await p.shot("85-signature-records", full_page=True)

    # a shorter period asks again from its first day; today's record is still there
    await p.page.locator(".van-dropdown-menu__item").first.click()
    async with p.page.expect_request(re.compile(r"/api/v1/signature-records\?from=\d{4}-\d{2}-\d{2}&")):
        await p.page.locator(".van-dropdown-item__option").filter(has_text="近 7 天").click()
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(TITLE)

    # 个人电子签名 links to the same list
    await p.goto("/app/signature")
    await expect(p.page.locator("[data-test=signature-card]")).to_be_visible()
    await p.page.locator("[data-test=signature-records-link]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature-records$"))
    await expect(p.page.locator("[data-test=signature-record]")).to_have_count(1)
