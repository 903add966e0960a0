"""The manual's whole story in a phone browser, against the real platform:

the enterprise logs in, activates its certificate, previews and creates a seal, grants it;
the person logs in, activates theirs, chooses the enterprise (two have granted them seals),
scans the demo relying system's QR code by picking its picture, enters the certificate
password; the demo page then offers the stamped PDF, and the verification page passes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise, register_person

from .conftest import OpenScreen
from .steps import (
    activate_certificate,
    activate_certificate_by_api,
    contract_pdf,
    create_relying_client,
    grant_by_api,
    issue_seal_by_api,
    login,
    pass_face_check,
    pick_in_wheel,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_a_granted_seal_stamps_a_demo_document_that_verifies(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    ent = await register_enterprise(api)
    person = await register_person(api)
    ent_cert_pw, person_cert_pw = password(), password()

    # a second enterprise grants the person a seal too, so 选择企业 is needed (set up by API)
    other = await register_enterprise(api)
    other_token = (await api_login(api, "enterprise", other["uscc"], other["password"]))["access_token"]
    await activate_certificate_by_api(api, other_token, other["legal_representative"]["phone"], password())
    other_seal = await issue_seal_by_api(api, other_token, "official")
    await grant_by_api(api, other_token, other_seal["seal_id"], person)

    # --- the enterprise: login, 我的, certificate, a seal after preview, its grant -----------
    e = await open_screen("enterprise")
    await e.goto("/app/")
    await expect(e.page).to_have_url(re.compile(r"/app/login"))
    await e.page.get_by_role("tab", name="企业法人").click()
    await e.shot("01-login")
    await login(e, "enterprise", ent["uscc"], ent["password"])
    await expect(e.page.get_by_text(f"您好，{ent['name']}")).to_be_visible()
    await e.shot("02-home-enterprise")
    await e.page.locator(".van-tabbar").get_by_text("我的").click()
    await expect(e.page.locator("[data-test=mine-agents]")).to_be_visible()
    await e.shot("03-mine-enterprise")

    await e.page.locator("[data-test=mine-seals]").click()  # first use: activation first
    await activate_certificate(e, ent["legal_representative"]["phone"], ent_cert_pw,
                               shot="04-certificate-activation")
    await expect(e.page).to_have_url(re.compile(r"/app/seals$"))
    await expect(e.page.get_by_text("还没有电子印章")).to_be_visible()

    await e.page.locator("[data-test=seal-add]").click()
    await e.page.locator("[data-test=seal-type]").click()
    await pick_in_wheel(e, "合同专用章")
    name = e.page.locator("[data-test=seal-name] textarea")
    await expect(name).to_have_value(f"{ent['name']}合同专用章")
    await e.shot("05-seal-add")
    await e.page.locator("[data-test=seal-preview]").click()
    preview = e.page.locator("[data-test=seal-preview-image]")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.complete && img.naturalWidth > 300")
    await e.shot("06-seal-preview")
    await e.page.locator("[data-test=seal-preview-generate]").click()
    await pass_face_check(e, shot="07-face-check")
    await expect(e.page).to_have_url(re.compile(r"/app/seals/[0-9a-f-]{36}$"))
    await expect(e.page.get_by_text("合同专用章").first).to_be_visible()
    await e.shot("08-seal-detail")

    await e.page.locator("[data-test=seal-grants]").click()
    await e.page.locator("[data-test=grant-add]").click()
    await e.page.locator("[data-test=grant-name] input").fill(person["name"])
    await e.page.locator("[data-test=grant-id-number] input").fill(person["id_number"])
    await e.page.locator("[data-test=grant-months-12]").click()
    await e.shot("09-grant-add")
    await e.page.locator("[data-test=grant-save]").click()
    await expect(e.page).to_have_url(re.compile(r"/grants$"))
    row = e.page.locator(".van-cell", has=e.page.locator(".grant__name", has_text=person["name"]))
    await expect(row).to_be_visible()
    await e.shot("10-grant-list")
    # 修改被授权人: a shorter window, saved
    await row.click()
    await expect(e.page.get_by_text("修改被授权人")).to_be_visible()
    await e.page.locator("[data-test=grant-months-6]").click()
    six_months = await e.page.locator("[data-test=grant-valid-to] input").input_value()
    await e.shot("10b-grant-edit")
    await e.page.locator("[data-test=grant-save]").click()
    await expect(e.page).to_have_url(re.compile(r"/grants$"))
    await expect(row).to_contain_text(six_months)

    # the enterprise waits on its home page; its unread badge must move by itself later
    await e.goto("/app/home")
    badge = e.page.locator("[data-test=tab-messages] .van-badge")
    await expect(badge).to_have_text("3")  # seal issued, grant added, grant changed

    # --- the demo relying system asks for a stamp --------------------------------------
    client = create_relying_client(platform, "政务业务办理系统（演示）")
    d = await open_screen("demo")
    await d.goto("/demo/")
    await d.page.locator("[data-test=demo-client-id] input").fill(client["client_id"])
    await d.page.locator("[data-test=demo-client-secret] input").fill(client["client_secret"])
    contract = contract_pdf(tmp_path / "contract.pdf")
    await d.page.locator("[data-test=demo-file]").set_input_files(str(contract))
    await expect(d.page.locator("[data-test=demo-title] input")).to_have_value("contract")
    await d.page.locator("[data-test=demo-title] input").fill("技术服务合同")
    canvas = d.page.locator("[data-test=demo-canvas]")
    await expect(canvas).to_be_visible()
    box = await canvas.bounding_box()
    assert box is not None
    await d.page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8)
    x = float(await d.page.locator("[data-test=demo-x] input").input_value())
    y = float(await d.page.locator("[data-test=demo-y] input").input_value())
    assert 380 < x < 450 and 130 < y < 200, (x, y)  # 70 % across, 20 % up an A4 page (595×842 pt)
    await d.shot("11-demo-setup", full_page=True)
    await d.page.locator("[data-test=demo-create]").click()
    qr = d.page.locator("[data-test=demo-qr]")
    await expect(qr).to_be_visible()
    await qr.scroll_into_view_if_needed()
    await d.shot("12-demo-qr")
    qr_photo = tmp_path / "qr-photo.png"
    await qr.screenshot(path=str(qr_photo))  # what the person "photographs"

    # --- the person: login, certificate, 选择企业 / 切换企业, 扫一扫, password -----------------
    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.shot("13-home-person")
    await p.page.locator("[data-test=service-seals]").click()
    await activate_certificate(p, person["phone"], person_cert_pw)
    await expect(p.page).to_have_url(re.compile(r"/app/my-seals/choose$"))
    await expect(p.page.get_by_text(other["name"])).to_be_visible()
    await p.shot("14-choose-enterprise")
    await p.page.locator(f"[data-test='enterprise-{ent['name']}']").click()
    await expect(p.page.locator("[data-test=current-enterprise]")).to_have_text(ent["name"])
    await expect(p.page.locator("[data-test=my-seal-contract]")).to_be_visible()
    await p.shot("15-my-seals")
    await p.page.locator("[data-test=switch-enterprise]").click()
    await p.page.locator(f"[data-test='enterprise-{other['name']}']").click()
    await expect(p.page.locator("[data-test=current-enterprise]")).to_have_text(other["name"])
    await expect(p.page.locator("[data-test=my-seal-official]")).to_be_visible()
    await p.page.locator("[data-test=switch-enterprise]").click()
    await p.page.locator(f"[data-test='enterprise-{ent['name']}']").click()
    await p.page.locator("[data-test=my-seal-contract]").click()
    await expect(p.page.get_by_text(f"{ent['name']}合同专用章").first).to_be_visible()
    await p.shot("16-my-seal-detail")
    await p.page.go_back()

    await p.page.locator("[data-test=my-seals-scan]").click()
    await expect(p.page.get_by_text("从相册选择二维码图片")).to_be_visible()
    await expect(p.page.get_by_text("请从相册选择二维码图片")).to_be_visible()  # no camera here
    await p.shot("17-scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(qr_photo))
    await expect(p.page).to_have_url(re.compile(r"/app/stamp/[0-9a-f-]{36}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text("技术服务合同")
    await p.page.locator(f"[data-test='stamp-enterprise-{ent['name']}']").click()
    await expect(p.page.locator("[data-test=stamp-seal-contract] .van-radio__icon--checked")).to_be_visible()
    await p.shot("18-stamp-choose")
    await p.page.locator("[data-test=stamp-confirm]").click()
    dialog = p.page.locator("[data-test=stamp-password-dialog]")
    p.expect_http(r"/stamp-requests/[^/]+/stamp$", 403)  # a wrong password: the app says so
    await dialog.locator("[data-test=stamp-password] input").fill("Wrong-pass-1")
    await dialog.locator("[data-test=stamp-submit]").click()
    await expect(dialog.get_by_text(re.compile(r"证书密码错误，还可尝试 \d+ 次"))).to_be_visible()
    await dialog.locator("[data-test=stamp-password] input").fill(person_cert_pw)
    await p.shot("19-stamp-password")
    await dialog.locator("[data-test=stamp-submit]").click()
    # signing takes a remote signature and a timestamp: more than a click's usual time
    await expect(p.page.locator("[data-test=stamp-done]")).to_be_visible(timeout=40_000)
    await expect(p.page.get_by_text("技术服务合同")).to_be_visible()
    await expect(p.page.locator("[data-test=stamp-record-id]")).to_contain_text(re.compile(r"[0-9a-f-]{36}"))
    await p.shot("20-stamp-done", full_page=True)

    # the enterprise's badge moved while it only watched (Server-Sent Events)
    await expect(badge).to_have_text("4")
    await e.shot("21-home-enterprise-live-badge")

    # --- the demo offers the stamped PDF; the verification page passes it ----------------
    download_button = d.page.locator("[data-test=demo-download]")
    await expect(download_button).to_be_visible(timeout=30_000)
    await d.shot("22-demo-stamped", full_page=True)
    async with d.page.expect_download() as info:
        await download_button.click()
    stamped = tmp_path / "stamped.pdf"
    await (await info.value).save_as(str(stamped))
    assert stamped.read_bytes().startswith(b"%PDF") and b"/ByteRange" in stamped.read_bytes()

    v = await open_screen("verify")
    await v.goto("/verify/")
    await v.page.locator("[data-test=verify-file]").set_input_files(str(stamped))
    await v.page.locator("[data-test=verify-submit]").click()
    report = v.page.locator("[data-test=verify-report]")
    await expect(report).to_have_attribute("data-result", "passed")
    await expect(report.locator("[data-test=verify-verdict]")).to_contain_text("验证通过")
    await expect(report.locator("[data-test=verify-enterprise]")).to_have_text(ent["name"])
    await expect(report.locator("[data-test=verify-signer]")).to_have_text(person["name"])
    await expect(report.locator("[data-test=verify-seal-status]")).to_contain_text("有效")
    # who sealed is the certificate's holder, and the platform stamped this very document
    await expect(report.locator("[data-test=verify-certificate-subject]")).to_contain_text(ent["name"])
    stamped_on = report.locator("[data-test=verify-stamped-on]")
    await expect(stamped_on).to_have_attribute("data-stamped-on", "document")
    await v.shot("23-verify-passed", full_page=True)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(stamped.read_bytes().replace(b"Fees payable", b"Fees waived!", 1))
    await v.page.locator("[data-test=verify-file]").set_input_files(str(tampered))
    await v.page.locator("[data-test=verify-submit]").click()
    await expect(report).to_have_attribute("data-result", "failed")
    await expect(report.locator("[data-test=verify-verdict]")).to_contain_text("验证未通过")
    await v.shot("23b-verify-tampered", full_page=True)

    # --- both see the usage record (last 3 months) --------------------------------------
    await p.page.get_by_role("button", name="查看印章使用记录").click()
    record = p.page.locator("[data-test=usage-record]").first
    await expect(record).to_contain_text("技术服务合同")
    await expect(record).to_contain_text(f"{ent['name']}合同专用章")
    await p.shot("24-records-person")
    # the record's evidence report (出证报告): a PDF sealed by the platform, saved as a file
    async with p.page.expect_download() as evidence_info:
        await record.locator("[data-test=usage-evidence]").click()
    evidence = await evidence_info.value
    assert evidence.suggested_filename.endswith(".pdf"), evidence.suggested_filename
    evidence_pdf = tmp_path / "evidence.pdf"
    await evidence.save_as(str(evidence_pdf))
    assert evidence_pdf.read_bytes().startswith(b"%PDF") and b"/ByteRange" in evidence_pdf.read_bytes()
    await e.goto("/app/records")
    await expect(e.page.locator("[data-test=usage-record]").first).to_contain_text(person["name"])
    await e.shot("25-records-enterprise")
    await e.goto("/app/messages")
    await expect(e.page.locator("[data-test=message]")).to_have_count(4)
    await e.shot("26-messages")
    await e.page.locator("[data-test=messages-read-all]").click()
    await expect(e.page.locator("[data-test=tab-messages] .van-badge")).to_have_count(0)

    # --- 数字证书 (view, 修改证书密码) and 客服中心 --------------------------------------------
    await e.goto("/app/certificate")
    await expect(e.page.get_by_text("证书序列号")).to_be_visible()
    await expect(e.page.get_by_text(ent["name"]).first).to_be_visible()
    await e.shot("27-certificate")
    await e.page.locator("[data-test=cert-change-password]").click()
    new_cert_pw = password()
    await e.page.locator("[data-test=cert-old-password] input").fill(ent_cert_pw)
    await e.page.locator("[data-test=cert-new-password] input").fill(new_cert_pw)
    await e.page.locator("[data-test=cert-new-password-confirm] input").fill(new_cert_pw)
    await e.shot("28-certificate-password")
    await e.page.locator("[data-test=cert-password-save]").click()
    await expect(e.page).to_have_url(re.compile(r"/app/certificate$"))
    await e.goto("/app/support")
    phone_link = e.page.locator("[data-test=support-phone]")
    await expect(phone_link).to_have_attribute("href", re.compile(r"^tel:\d+"))
    await expect(e.page.locator("[data-test=support-qq]")).not_to_be_empty()
    await e.shot("29-support")
