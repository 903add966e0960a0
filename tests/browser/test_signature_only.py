"""Only a personal signature, in a phone browser (375×667) against the real platform:

- a relying system asks a person to sign a document with their own 个人签名 (placements all
  `signature`, no seal); the person — in no enterprise, granted no seal, no signature made yet —
  scans it, sees the document with the signature's place outlined and no enterprise or seal to
  choose, is led to 个人签名 and back, enters the certificate password, and sees 签名成功 with
  the signature record; the app sent the password alone; the signed PDF is valid to pyHanko
  (trusted to the platform root) and the platform's verification reports the person's
  signature;
- a batch mixing a seal document and a signature-only document is stamped with one password.

Certificates, the enterprise, seals and grants are set up by API (test_stamping_journey shows
those screens).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from stamping.adapters.pdf import as_asn1_cert

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_person
from tests.support.relying import client_token, create_client

from .conftest import OpenScreen
from .steps import (
    activate_certificate_by_api,
    contract_pdf_bytes,
    enter_certificate_password,
    login,
    person_with_signature,
)
from .test_batches_and_signature import create_batch, qr_photo
from .test_placements_preview import SAMPLE_OFD, person_with_seals, scan

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

UUID = r"[0-9a-f-]{36}"


async def test_a_signature_only_request_is_signed_with_the_password_alone(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    person = await register_person(api)  # in no enterprise, granted no seal
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    cert_pw = password()
    await activate_certificate_by_api(api, person_token, person["phone"], cert_pw)
    token = await client_token(api, await create_client(platform, "个人签字系统（演示）"))
    form = aiohttp.FormData()
    form.add_field("title", "个人承诺书")
    form.add_field("placements", json.dumps([{"kind": "signature", "page": 2, "x": 300, "y": 200}]))
    form.add_field("document", contract_pdf_bytes("Personal Pledge"), filename="pledge.pdf",
                   content_type="application/pdf")
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    request_id = created.json["request_id"]
    photo = qr_photo(created.json["qr_payload"], tmp_path / "pledge-qr.png")

    p = await open_screen("person")
    p.expect_http(r"/api/v1/my/signature$", 404)  # no signature yet: the prompt below
    await scan(p, person, photo, "个人承诺书")
    await expect(p.page).to_have_url(re.compile(rf"/app/stamp/{request_id}$"))
    # the document with the signature's place outlined; no enterprise, no seal to choose
    await expect(p.page.locator("[data-test=preview-page]")).to_have_attribute("data-page", "2")
    await expect(p.page.locator("[data-test=preview-outline][data-placement='0']")).to_have_count(1)
    await expect(p.page.locator("[data-test=stamp-signature-only]")).to_contain_text("无需选择企业和印章")
    await expect(p.page.locator("[data-test^=stamp-enterprise]")).to_have_count(0)
    await expect(p.page.locator("[data-test*=-seal-]")).to_have_count(0)
    await expect(p.page.get_by_text("您没有可用于此文件的电子印章")).to_have_count(0)
    missing = p.page.locator("[data-test=placement-0-signature-missing]")
    await expect(missing).to_contain_text("您还没有设置")
    confirm = p.page.locator("[data-test=stamp-confirm]")
    await expect(confirm).to_be_disabled()
    await p.shot("80-signature-only-missing", full_page=True)

    # 去设置签名 and back to the same request
    await missing.locator("[data-test=signature-create]").click()
    await expect(p.page).to_have_url(re.compile(r"/app/signature\?return="))
    await p.page.locator("[data-test=signature-add]").click()
    await p.page.get_by_role("button", name="自动生成").click()
    await p.page.locator("[data-test=signature-confirm]").click()
    await expect(p.page).to_have_url(re.compile(rf"/app/stamp/{request_id}$"))
    await expect(p.page.locator("[data-test=placement-0-signature-ready]")).to_contain_text("已设置")
    await expect(confirm).to_be_enabled()
    await expect(confirm).to_contain_text("确认签名")
    await p.shot("81-signature-only-ready", full_page=True)

    await confirm.click()
    body = await enter_certificate_password(p, cert_pw, says="使用您的个人电子签名为《个人承诺书》签名",
                                            sent_to=rf"/api/v1/stamp-requests/{request_id}/stamp$")
    assert body == {"certificate_password": cert_pw}

    done = p.page.locator("[data-test=stamp-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-kind", "signature")
    await expect(p.page.locator("[data-test=stamp-done-title]")).to_have_text("签名成功")
    status = await api.get(f"/api/v1/stamp-requests/{request_id}", token=token)
    assert status.status == 200 and status.json["status"] == "stamped", status
    assert status.json["record_id"], status
    await expect(p.page.locator("[data-test=stamp-record-id]")).to_contain_text(status.json["record_id"])
    await expect(p.page.get_by_text("查看印章使用记录")).to_have_count(0)
    await p.shot("82-signature-only-done", full_page=True)

    # the signed PDF: the person's PAdES signature, trusted to the platform root
    doc = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert doc.status == 200 and doc.headers["Content-Type"] == "application/pdf", doc
    root = await api.get("/api/v1/ca/root.pem")
    assert root.status == 200, root
    reader = PdfFileReader(io.BytesIO(doc.body))
    [own] = reader.embedded_signatures
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [as_asn1_cert(root.body)], "allow_fetching": False,
         "revocation_mode": "hard-fail"})
    checked = await async_validate_pdf_signature(own, vc)
    assert checked.intact and checked.valid and checked.trusted, checked.pretty_print_details()
    assert checked.bottom_line, checked.pretty_print_details()
    form = aiohttp.FormData()
    form.add_field("document", doc.body, filename="signed.pdf", content_type="application/pdf")
    verified = await api.post("/api/v1/verifications", data=form)
    assert verified.status == 200, verified
    [sig] = verified.json["signatures"]
    assert sig["kind"] == "signature" and sig["recorded"] and sig["result"] == "passed", sig


async def test_a_batch_with_a_signature_only_document_is_stamped_with_one_password(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    _, person, cert_pw = await person_with_seals(api, "contract")
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    made = await api.post("/api/v1/my/signature", token=person_token, json={"method": "generated"})
    assert made.status == 201, made
    token = await client_token(api, await create_client(platform, "证照批量签发系统（演示）"))
    created = await create_batch(api, token, [
        {"title": "采购合同（混合）", "placements": [
            {"kind": "seal", "seal_type": "contract", "page": 1, "x": 300, "y": 300}]},
        {"title": "个人确认书（混合）", "placements": [
            {"kind": "signature", "page": 1, "x": 300, "y": 300}]}])
    batch_id = created["batch_id"]
    photo = qr_photo(created["qr_payload"], tmp_path / "batch-qr.png")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(rf"/app/batch/{batch_id}$"))
    second = p.page.locator("[data-test=batch-doc-1]")
    await expect(second).to_contain_text("1 处签名")
    await expect(second.locator("[data-test=batch-doc-1-signature-ready]")).to_be_visible()
    for i in range(2):
        await expect(p.page.locator(f"[data-test=batch-doc-{i}]")).to_have_attribute("data-ready", "yes")
    await second.locator("[data-test=batch-doc-1-open]").click()
    sheet = p.page.locator("[data-test=batch-preview]")
    await expect(sheet.locator("[data-test=preview-outline]")).to_have_count(1)
    await p.shot("83-batch-mixed", full_page=True)
    await sheet.locator(".van-popup__close-icon").click()
    await expect(sheet).to_be_hidden()

    await p.page.locator("[data-test=batch-confirm]").click()
    body = await enter_certificate_password(p, cert_pw, sent_to=rf"/api/v1/stamp-batches/{batch_id}/stamp$")
    assert body is not None
    assert body["documents"][1] == {"request_id": created["documents"][1]["request_id"]}, body

    done = p.page.locator("[data-test=batch-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-status", "stamped")
    await expect(p.page.locator("[data-test=batch-summary]")).to_have_text("全部 2 份文件盖章成功")
    signed_line = p.page.locator("[data-test=batch-result-1]")
    await expect(signed_line.locator("[data-test=batch-result-status]")).to_have_text("签名成功")
    await expect(signed_line).to_contain_text("已以个人电子签名签署")
    stamped_status = p.page.locator("[data-test=batch-result-0] [data-test=batch-result-status]")
    await expect(stamped_status).to_have_text("盖章成功")
    seen = await api.get(f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert seen.status == 200 and seen.json["status"] == "stamped", seen
    signed = seen.json["documents"][1]
    assert signed["record_ids"] == [] and signed["record_id"], signed


async def test_a_batch_of_only_signatures_has_no_enterprise_to_choose(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    person, person_token, cert_pw = await person_with_signature(api)  # in no enterprise
    token = await client_token(api, await create_client(platform, "个人签字批量系统（演示）"))
    sign = [{"kind": "signature", "page": 1, "x": 300, "y": 300}]
    created = await create_batch(api, token, [{"title": "承诺书（一）", "placements": sign},
                                              {"title": "承诺书（二）", "placements": sign}])
    batch_id = created["batch_id"]
    photo = qr_photo(created["qr_payload"], tmp_path / "batch-qr.png")

    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(rf"/app/batch/{batch_id}$"))
    await expect(p.page.locator("[data-test=batch-signature-only]")).to_contain_text("无需选择企业和印章")
    await expect(p.page.locator("[data-test=batch-no-seals]")).to_have_count(0)
    await expect(p.page.locator("[data-test^=batch-enterprise]")).to_have_count(0)
    for i in range(2):
        await expect(p.page.locator(f"[data-test=batch-doc-{i}]")).to_have_attribute("data-ready", "yes")
    confirm = p.page.locator("[data-test=batch-confirm]")
    await expect(confirm).to_contain_text("确认签名")
    await p.shot("84-batch-signatures-only", full_page=True)
    await confirm.click()
    body = await enter_certificate_password(p, cert_pw, says="使用您的个人电子签名为 2 份文件签名",
                                            sent_to=rf"/api/v1/stamp-batches/{batch_id}/stamp$")
    assert body is not None
    assert "enterprise_id" not in body and body["certificate_password"] == cert_pw, body
    done = p.page.locator("[data-test=batch-done]")
    await expect(done).to_be_visible(timeout=90_000)
    await expect(done).to_have_attribute("data-status", "stamped")
    await expect(p.page.locator("[data-test=batch-summary]")).to_have_text("全部 2 份文件签名成功")
    seen = await api.get(f"/api/v1/stamp-batches/{batch_id}", token=token)
    assert seen.status == 200 and seen.json["status"] == "stamped", seen



async def test_an_ofd_is_signed_with_the_persons_own_signature(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    """On an OFD the person's signature goes out with the person's own GB/T 38540 seal
    (个人印章, SM2): the same screens, the password alone, 签名成功; verification names them."""
    person, _, cert_pw = await person_with_signature(api)
    token = await client_token(api, await create_client(platform, "个人签字系统（OFD）"))
    form = aiohttp.FormData()
    form.add_field("title", "个人承诺书（OFD）")
    form.add_field("placements", json.dumps([{"kind": "signature", "page": 2, "x": 150, "y": 240}]))
    form.add_field("document", SAMPLE_OFD.read_bytes(), filename="pledge.ofd",
                   content_type="application/ofd")
    created = await api.post("/api/v1/stamp-requests", token=token, data=form)
    assert created.status == 201, created
    request_id = created.json["request_id"]
    photo = qr_photo(created.json["qr_payload"], tmp_path / "pledge-ofd-qr.png")

    p = await open_screen("person")
    await scan(p, person, photo, "个人承诺书（OFD）")
    await expect(p.page.locator("[data-test=preview-ofd]")).to_contain_text("共 5 页")
    await expect(p.page.locator("[data-test=preview-where-0]")).to_contain_text(
        "第2页（距左 150 mm，距上 240 mm）")
    await expect(p.page.locator("[data-test=placement-0-signature-ready]")).to_contain_text("已设置")
    confirm = p.page.locator("[data-test=stamp-confirm]")
    await expect(confirm).to_contain_text("确认签名")
    await confirm.click()
    body = await enter_certificate_password(
        p, cert_pw, says="使用您的个人电子签名为《个人承诺书（OFD）》签名",
        sent_to=rf"/api/v1/stamp-requests/{request_id}/stamp$")
    assert body == {"certificate_password": cert_pw}
    await expect(p.page.locator("[data-test=stamp-done-title]")).to_have_text("签名成功",
                                                                               timeout=90_000)
    await p.shot("83-signature-only-ofd-done", full_page=True)

    doc = await api.get(f"/api/v1/stamp-requests/{request_id}/result", token=token)
    assert doc.status == 200 and doc.headers["Content-Type"] == "application/ofd", doc
    form = aiohttp.FormData()
    form.add_field("document", doc.body, filename="signed.ofd", content_type="application/ofd")
    verified = await api.post("/api/v1/verifications", data=form)
    assert verified.status == 200 and verified.json["format"] == "ofd", verified
    [sig] = verified.json["signatures"]
    assert (sig["kind"], sig["algorithm"], sig["result"]) == ("signature", "sm2-sm3", "passed"), sig
    assert sig["recorded"] and sig["trusted"], sig

    # the verify page tells a person's signature from a seal: no enterprise, no seal status
    signed = tmp_path / "pledge-signed.ofd"
    signed.write_bytes(doc.body)
    v = await open_screen("verify")
    await v.goto("/verify/")
    await v.page.locator("[data-test=verify-file]").set_input_files(str(signed))
    await v.page.locator("[data-test=verify-submit]").click()
    report = v.page.locator("[data-test=verify-report]")
    await expect(report.locator("[data-test=verify-signature-title]")).to_have_text(
        f"个人签名 · {person['name']}")
    await expect(report.locator("[data-test=verify-stamped-on]")).to_have_attribute(
        "data-stamped-on", "signature")
    await expect(report.locator("[data-test=verify-format]")).to_contain_text("SM2")
    await expect(report.locator("[data-test=verify-enterprise]")).to_have_count(0)
    await expect(report.locator("[data-test=verify-seal-status]")).to_have_count(0)
    await expect(report.locator("[data-test=verify-ofd-position]")).to_contain_text("第 2 页")
    await v.shot("84-verify-ofd-signature", full_page=True)
