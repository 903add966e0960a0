"""See before signing, in a phone browser (375×667) against the real platform:

a relying system asks for several placements (a 合同专用章 and the 法定代表人名章 on page 2, a
骑缝章 across every page); the person scans, pages through the document with each placement
outlined in red where it will go, at its seal's real size (the cross-page strips at the right
edge of every page), chooses a seal for each placement and enters the certificate password
once; the app sends one choice per placement, and the success screen lists each placement
with its usage record. An OFD (no renderer in the app) lists its placements in words.
Enterprise, seals, grants and certificates are set up by API (test_stamping_journey shows
those screens).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Locator, expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise, register_person
from tests.support.polling import eventually
from tests.support.relying import client_token, create_client

from .conftest import OpenScreen
from .screen import Screen
from .steps import (
    activate_certificate_by_api,
    contract_pdf_bytes,
    enter_certificate_password,
    grant_by_api,
    issue_seal_by_api,
    login,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SAMPLE_OFD = Path(__file__).resolve().parents[2] / "web/src/demo/samples/ofdrw-Page5.ofd"
A4 = (595.0, 842.0)  # the contract's pages, in points
MM = 72 / 25.4  # points per millimetre


async def person_with_seals(api: Api, *types: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An enterprise that grants the person one seal of each type; both certificates active.
    Returns the enterprise, the person and the person's certificate password."""
    ent, person = await register_enterprise(api), await register_person(api)
    ent_token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    await activate_certificate_by_api(api, ent_token, ent["legal_representative"]["phone"], password())
    for seal_type in types:
        seal = await issue_seal_by_api(api, ent_token, seal_type)
        await grant_by_api(api, ent_token, seal["seal_id"], person)
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    cert_pw = password()
    await activate_certificate_by_api(api, person_token, person["phone"], cert_pw)

    async def granted() -> bool:
        mine = (await api.get("/api/v1/my/enterprises", token=person_token)).json["items"]
        if not mine:
            return False
        seals = await api.get(f"/api/v1/my/enterprises/{mine[0]['enterprise_id']}/seals",
                              token=person_token)
        return len(seals.json["items"]) == len(types)

    assert await eventually(granted, 15, every=0.2, what="the grants in the person's view")
    return ent, person, cert_pw


async def placements_request(api: Api, platform: Platform, tmp_path: Path, *, title: str,
                             document: bytes, filename: str, content_type: str,
                             placements: list[dict[str, Any]]) -> Path:
    """A relying system's request with ``placements``; returns a photo of its QR code."""
    token = await client_token(api, await create_client(platform, "合同签署系统（演示）"))
    form = aiohttp.FormData()
    form.add_field("title", title)
    form.add_field("placements", json.dumps(placements))
    form.add_field("document", document, filename=filename, content_type=content_type)
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    qr = await api.get(created.json["qr_png_url"], token=token)
    assert qr.status == 200 and qr.body.startswith(b"\x89PNG"), qr
    photo = tmp_path / "qr.png"
    photo.write_bytes(qr.body)
    return photo


async def scan(p: Screen, person: dict[str, Any], photo: Path, title: str) -> None:
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(r"/app/stamp/[0-9a-f-]{36}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text(title)


async def centre_on_page(outline: Locator, page: Locator) -> tuple[float, float, float]:
    """The outline's centre as fractions of the page (from its top-left), and its width as a
    fraction of the page's width."""
    o, pg = await outline.bounding_box(), await page.bounding_box()
    assert o is not None and pg is not None
    return ((o["x"] + o["width"] / 2 - pg["x"]) / pg["width"],
            (o["y"] + o["height"] / 2 - pg["y"]) / pg["height"], o["width"] / pg["width"])


async def test_the_document_is_previewed_with_every_placement_where_it_will_go(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, _ = await person_with_seals(api, "contract", "legal_representative")
    photo = await placements_request(api, platform, tmp_path, title="技术服务合同（预览）",
                                     document=contract_pdf_bytes(), filename="contract.pdf",
                                     content_type="application/pdf", placements=[
        {"kind": "seal", "seal_type": "contract", "page": 2, "x": 420, "y": 160},
        {"kind": "seal", "seal_type": "legal_representative", "page": "last", "x": 250, "y": 160},
        {"kind": "cross_page", "seal_type": "contract", "pages": "all", "y": 421}])

    p = await open_screen("person")
    await scan(p, person, photo, "技术服务合同（预览）")
    preview = p.page.locator("[data-test=preview]")
    page = preview.locator("[data-test=preview-page]")
    # it opens on the first page with a seal on it (the 骑缝章 is on every page)
    await expect(page).to_have_attribute("data-page", "2")
    await expect(preview.locator("[data-test=preview-count]")).to_have_text("第 2 / 2 页")
    outlines = preview.locator("[data-test=preview-outline]")
    await expect(outlines).to_have_count(3)
    # the page is drawn (dark text pixels on the canvas), not a blank box
    assert await preview.locator("[data-test=preview-canvas]").evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        for (let i = 0; i < d.length; i += 4) if (d[i] < 100 && d[i + 3] > 0) return true
        return false }""")

    contract = preview.locator("[data-test=preview-outline][data-placement='0']")
    await expect(contract).to_have_attribute("data-shape", "round")
    cx, cy, w = await centre_on_page(contract, page)
    assert abs(cx - 420 / A4[0]) < 0.01 and abs(cy - (A4[1] - 160) / A4[1]) < 0.01, (cx, cy)
    assert abs(w - 42 * MM / A4[0]) < 0.01, w  # 42 mm round
    name_seal = preview.locator("[data-test=preview-outline][data-placement='1']")
    await expect(name_seal).to_have_attribute("data-shape", "square")
    cx, cy, w = await centre_on_page(name_seal, page)
    assert abs(cx - 250 / A4[0]) < 0.01 and abs(cy - (A4[1] - 160) / A4[1]) < 0.01, (cx, cy)
    assert abs(w - 20 * MM / A4[0]) < 0.01, w  # the 法定代表人名章 is 20 mm, not 42
    strip = preview.locator("[data-test=preview-outline][data-placement='2']")
    await expect(strip).to_have_attribute("data-shape", "strip")
    sx, sy, sw = await centre_on_page(strip, page)
    assert abs(sx + sw / 2 - 1) < 0.01 and abs(sy - 0.5) < 0.01, (sx, sy)  # right edge, middle
    assert abs(sw - 42 * MM / 2 / A4[0]) < 0.01, sw  # half the seal: two pages
    await p.shot("60-preview-page-2")

    # page 1: the 骑缝章's other strip only
    await preview.locator("[data-test=preview-prev]").click()
    await expect(page).to_have_attribute("data-page", "1")
    await expect(outlines).to_have_count(1)
    await expect(outlines.first).to_have_attribute("data-placement", "2")
    await expect(preview.locator("[data-test=preview-where-2]")).to_contain_text("第1、2页右侧边缘")
    await p.shot("61-preview-page-1")
    # tapping a placement in the list turns to its page
    await preview.locator("[data-test=preview-where-0]").click()
    await expect(page).to_have_attribute("data-page", "2")
    await expect(outlines).to_have_count(3)
    # nothing asked yet: the password comes after the person has seen the document
    await expect(p.page.locator("[data-test=stamp-password-dialog]")).to_have_count(0)


async def test_each_placement_gets_its_seal_and_one_password_stamps_them_all(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, cert_pw = await person_with_seals(api, "contract", "legal_representative")
    photo = await placements_request(api, platform, tmp_path, title="采购合同",
                                     document=contract_pdf_bytes(), filename="contract.pdf",
                                     content_type="application/pdf", placements=[
        {"kind": "seal", "page": 2, "x": 420, "y": 160},  # any seal: the person chooses
        {"kind": "seal", "seal_type": "legal_representative", "page": 2, "x": 250, "y": 160}])

    p = await open_screen("person")
    await scan(p, person, photo, "采购合同")
    first = p.page.locator("[data-test=placement-0]")
    second = p.page.locator("[data-test=placement-1]")
    # the one seal a placement can take is chosen already; the other waits for the person
    await expect(second.locator("[data-test=placement-1-seal-legal_representative] "
                                ".van-radio__icon--checked")).to_be_visible()
    await expect(first.locator(".van-radio__icon--checked")).to_have_count(0)
    confirm = p.page.locator("[data-test=stamp-confirm]")
    await expect(confirm).to_be_disabled()
    await first.locator("[data-test=placement-0-seal-contract]").click()
    await expect(confirm).to_be_enabled()
    # the outline of the placement of any type takes the chosen seal's size: still round
    await expect(p.page.locator("[data-test=preview-outline][data-placement='0']")).to_have_attribute(
        "data-shape", "round")
    await p.shot("62-placements-choose", full_page=True)
    contract_id = await first.locator("[data-test=placement-0-seal-contract]").get_attribute("data-seal-id")
    name_seal_id = await second.locator("[data-test=placement-1-seal-legal_representative]").get_attribute(
        "data-seal-id")

    await confirm.click()
    body = await enter_certificate_password(p, cert_pw, says="使用 2 枚印章在 2 处为《采购合同》盖章",
                                            sent_to=r"/stamp-requests/[^/]+/stamp$")
    assert body is not None
    assert body["choices"] == [{"placement": 0, "seal_id": contract_id},
                               {"placement": 1, "seal_id": name_seal_id}], body
    assert body["seal_id"] == contract_id and body["certificate_password"] == cert_pw, body

    await expect(p.page.locator("[data-test=stamp-done]")).to_be_visible(timeout=60_000)
    lines = p.page.locator("[data-test=stamp-done-placements] [data-test^=stamp-done-placement-]")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0)).to_contain_text("合同专用章")
    await expect(lines.nth(1)).to_contain_text("法定代表人名章")
    records = p.page.locator("[data-test=stamp-done-record]")
    await expect(records).to_have_count(2)
    ids = {re.sub(r"^记录编号\s*", "", t) for t in await records.all_inner_texts()}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids), ids
    await p.shot("63-placements-done", full_page=True)


async def test_an_ofd_lists_its_placements_in_words(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, _ = await person_with_seals(api, "official")
    photo = await placements_request(api, platform, tmp_path, title="关于开展专项检查的通知",
                                     document=SAMPLE_OFD.read_bytes(), filename="notice.ofd",
                                     content_type="application/ofd", placements=[
        {"kind": "seal", "seal_type": "official", "page": 2, "x": 150, "y": 240}])

    p = await open_screen("person")
    await scan(p, person, photo, "关于开展专项检查的通知")
    words = p.page.locator("[data-test=preview-ofd]")
    await expect(words).to_contain_text("共 5 页")
    await expect(p.page.locator("[data-test=preview-canvas]")).to_have_count(0)
    await expect(p.page.locator("[data-test=preview-where-0]")).to_contain_text(
        "第2页（距左 150 mm，距上 240 mm）")
    # one seal placement: the enterprise-then-seal choice of before
    await expect(p.page.locator("[data-test=stamp-seal-official] .van-radio__icon--checked")).to_be_visible()
    await p.shot("64-preview-ofd")
