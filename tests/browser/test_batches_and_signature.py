"""Batches and the personal signature, in a phone browser (375×667) against the real platform:

- a relying system sends two PDFs as one batch (one QR code); the person picks the QR code's
  photo in 扫一扫, sees both documents (title, pages, placements, the one seal each can take
  already chosen), opens one to see where its stamp goes, enters the certificate password
  once, and both are listed as stamped;
- in a batch of two, one document's seal is revoked between the scan and the stamp: the other
  is stamped, the failed one is listed with its reason and offers 单独盖章, which opens it on
  its own stamping screen;
- a request asks for the person's own signature, which the person has not created: the
  stamping screen says so and leads to 个人签名; once the signature is made the app returns to
  the same request, where the placement is ready, and one password stamps it.

Enterprise, seals, grants and certificates are set up by API (test_stamping_journey shows
those screens).
"""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import qrcode
from playwright.async_api import expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import face_token
from tests.support.identities import login as api_login
from tests.support.relying import client_token, create_client

from .conftest import OpenScreen
from .steps import contract_pdf_bytes, enter_certificate_password, login
from .test_placements_preview import person_with_seals, placements_request, scan

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

UUID = r"[0-9a-f-]{36}"


def qr_photo(payload: str, path: Path) -> Path:
    """A photo of the QR code the relying system shows (the batch answer gives its text)."""
    qr = qrcode.QRCode(box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    out = BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


async def create_batch(api: Api, token: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A relying system's batch: one PDF per item (``Licence <n>``); the 201 answer."""
    form = aiohttp.FormData()
    form.add_field("items", json.dumps(items))
    for i in range(len(items)):
        form.add_field(f"documents[{i}]", contract_pdf_bytes(f"Licence {i + 1}"),
                       filename=f"licence-{i + 1}.pdf", content_type="application/pdf")
    created = await api.post("/api/v1/stamp-batches", token=token, data=form)
    assert created.status == 201, created
    return dict(created.json)


async def test_a_batch_of_two_is_scanned_once_and_stamped_with_one_password(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, cert_pw = await person_with_seals(api, "contract")
    token = await client_token(api, await create_client(platform, "证照批量签发系统（演示）"))
    created = await create_batch(api, token, [
        {"title": "营业执照副本（一）", "placements": [
            {"kind": "seal", "seal_type": "contract", "page": "last", "x": 420, "y": 160}]},
        {"title": "营业执照副本（二）", "page": 1, "x": 300, "y": 300}])
    batch_id = created["batch_id"]
    photo = qr_photo(created["qr_payload"], tmp_path / "batch-qr.png")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    async with p.page.expect_request(re.compile(r"/api/v1/stamp-batches/scans$")):
        await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(rf"/app/batch/{batch_id}$"))
    await expect(p.page.locator("[data-test=batch-count]")).to_contain_text("共 2 份文件")
    docs = p.page.locator("[data-test^=batch-doc-][data-ready]")
    first, second = p.page.locator("[data-test=batch-doc-0]"), p.page.locator("[data-test=batch-doc-1]")
    await expect(docs).to_have_count(2)
    await expect(first.locator("[data-test=batch-doc-title]")).to_have_text("营业执照副本（一）")
    await expect(second.locator("[data-test=batch-doc-title]")).to_have_text("营业执照副本（二）")
    await expect(first).to_contain_text("共 2 页")
    await expect(first).to_contain_text("1 处盖章")
    # the one seal each placement can take is chosen already
    for doc in (first, second):
        await expect(doc).to_have_attribute("data-ready", "yes")
        await expect(doc.locator("[data-test$=placement-0]")).to_have_attribute(
            "data-seal-id", re.compile(UUID))
    await expect(first.locator("[data-test$=placement-0]")).to_contain_text("合同专用章")
    await p.shot("70-batch-list", full_page=True)

    # the first document, with its placement outlined on its last page
    await first.locator("[data-test=batch-doc-0-open]").click()
    sheet = p.page.locator("[data-test=batch-preview]")
    await expect(sheet.locator("[data-test=batch-preview-title]")).to_have_text("营业执照副本（一）")
    await expect(sheet.locator("[data-test=preview-page]")).to_have_attribute("data-page", "2")
    await expect(sheet.locator("[data-test=preview-outline]")).to_have_count(1)
    await p.shot("71-batch-preview")
    await sheet.locator(".van-popup__close-icon").click()
    await expect(sheet).to_be_hidden()

    await p.page.locator("[data-test=batch-confirm]").click()
    body = await enter_certificate_password(p, cert_pw, says="为 2 份文件盖章",
                                            sent_to=rf"/api/v1/stamp-batches/{batch_id}/stamp$")
    assert body is not None
    assert body["certificate_password"] == cert_pw and body["enterprise_id"], body
    assert [d["request_id"] for d in body["documents"]] == [
        d["request_id"] for d in created["documents"]], body
    assert all(len(d["choices"]) == 1 for d in body["documents"]), body

    done = p.page.locator("[data-test=batch-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-status", "stamped")
    await expect(p.page.locator("[data-test=batch-summary]")).to_have_text("全部 2 份文件盖章成功")
    for i in range(2):
        line = p.page.locator(f"[data-test=batch-result-{i}]")
        await expect(line).to_have_attribute("data-status", "stamped")
        await expect(line.locator("[data-test=batch-result-status]")).to_have_text("盖章成功")
    await p.shot("72-batch-done", full_page=True)
    # the relying system sees the same
    seen = await api.get(f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert seen.status == 200 and seen.json["status"] == "stamped", seen


async def test_a_partly_failed_batch_keeps_the_stamped_one_and_offers_the_other_on_its_own(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    ent, person, cert_pw = await person_with_seals(api, "contract", "finance")
    token = await client_token(api, await create_client(platform, "证照批量签发系统（演示）"))
    created = await create_batch(api, token, [
        {"title": "采购合同（批量）", "placements": [
            {"kind": "seal", "seal_type": "contract", "page": 1, "x": 300, "y": 300}]},
        {"title": "财务报表（批量）", "placements": [
            {"kind": "seal", "seal_type": "finance", "page": 1, "x": 300, "y": 300}]}])
    batch_id = created["batch_id"]
    failed_id = created["documents"][1]["request_id"]
    photo = qr_photo(created["qr_payload"], tmp_path / "batch-qr.png")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(rf"/app/batch/{batch_id}$"))
    for i in range(2):
        await expect(p.page.locator(f"[data-test=batch-doc-{i}]")).to_have_attribute("data-ready", "yes")

    # the enterprise revokes the finance seal after the scan
    ent_token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    seals = await api.get("/api/v1/seals", token=ent_token)
    assert seals.status == 200, seals
    finance = next(s for s in seals.json["items"] if s["type"] == "finance")
    revoked = await api.post(f"/api/v1/seals/{finance['seal_id']}/revocation", token=ent_token, json={
        "face_token": await face_token(api, ent_token, "revoke_seal"), "reason": "测试作废"})
    assert revoked.status in (200, 201), revoked

    await p.page.locator("[data-test=batch-confirm]").click()
    await enter_certificate_password(p, cert_pw)

    done = p.page.locator("[data-test=batch-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-status", "partially_stamped")
    await expect(p.page.locator("[data-test=batch-summary]")).to_have_text("1 份文件盖章成功，1 份未成功")
    ok, failed = p.page.locator("[data-test=batch-result-0]"), p.page.locator("[data-test=batch-result-1]")
    await expect(ok).to_have_attribute("data-status", "stamped")
    await expect(ok.locator("[data-test=batch-result-status]")).to_have_text("盖章成功")
    await expect(ok.locator("[data-test=batch-result-0-retry]")).to_have_count(0)
    await expect(failed).to_have_attribute("data-status", "pending")
    await expect(failed.locator("[data-test=batch-result-status]")).to_have_text("未盖章")
    await expect(failed.locator("[data-test=batch-result-reason]")).to_contain_text("原因：")
    retry = failed.locator("[data-test=batch-result-1-retry]")
    await expect(retry).to_have_text("单独盖章")
    await p.shot("76-batch-partly-failed", full_page=True)
    seen = await api.get(f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert seen.status == 200 and seen.json["status"] == "partially_stamped", seen
    assert [d["status"] for d in seen.json["documents"]] == ["stamped", "pending"], seen

    # 单独盖章: the failed document on its own stamping screen
    await retry.click()
    await expect(p.page).to_have_url(re.compile(rf"/app/stamp/{failed_id}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text("财务报表（批量）")


async def test_a_person_without_a_signature_is_led_to_make_one_and_back(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, cert_pw = await person_with_seals(api, "contract")
    photo = await placements_request(api, platform, tmp_path, title="劳动合同（签名）",
                                     document=contract_pdf_bytes(), filename="contract.pdf",
                                     content_type="application/pdf", placements=[
        {"kind": "seal", "seal_type": "contract", "page": 2, "x": 420, "y": 160},
        {"kind": "signature", "page": 2, "x": 200, "y": 160}])

    p = await open_screen("person")
    p.expect_http(r"/api/v1/my/signature$", 404)  # "no signature yet": the prompt below
    await scan(p, person, photo, "劳动合同（签名）")
    stamp_url = p.page.url
    request_id = re.search(rf"/app/stamp/({UUID})$", stamp_url).group(1)  # type: ignore[union-attr]
    missing = p.page.locator("[data-test=placement-1-signature-missing]")
    await expect(missing).to_contain_text("您还没有设置")
    await expect(p.page.locator("[data-test=preview-signature-1]")).to_have_text("未设置")
    await expect(p.page.locator("[data-test=preview-outline][data-placement='1']")).to_have_count(1)
    await expect(p.page.locator("[data-test=stamp-confirm]")).to_be_disabled()
    await p.shot("73-signature-missing", full_page=True)

    await missing.locator("[data-test=signature-create]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature\?return="))
    await expect(p.page.locator("[data-test=signature-for-stamp]")).to_be_visible()
    await p.page.locator("[data-test=signature-add]").click()
    await p.page.get_by_role("button", name="自动生成").click()
    await p.page.locator("[data-test=signature-confirm]").click()

    # back on the same request, the signature ready
    await expect(p.page).to_have_url(re.compile(rf"/app/stamp/{request_id}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text("劳动合同（签名）")
    await expect(p.page.locator("[data-test=placement-1-signature-ready]")).to_contain_text("已设置")
    await expect(p.page.locator("[data-test=preview-signature-1]")).to_have_text("已设置")
    confirm = p.page.locator("[data-test=stamp-confirm]")
    await expect(confirm).to_be_enabled()
    await p.shot("74-signature-ready", full_page=True)

    await confirm.click()
    await enter_certificate_password(p, cert_pw)
    await expect(p.page.locator("[data-test=stamp-done]")).to_be_visible(timeout=90_000)
    # a seal and the person's own signature: both records are offered
    await expect(p.page.locator("[data-test=stamp-done-own-signature]")).to_contain_text("个人签名记录")
    await expect(p.page.locator("[data-test=stamp-done]")).to_contain_text("已在 1 处盖章、1 处签名")
    await p.shot("75-signature-stamped", full_page=True)
    await p.page.locator("[data-test=stamp-done-signature-records]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature-records$"))
    await expect(p.page.locator("[data-test=signature-record]")).to_have_count(1)
