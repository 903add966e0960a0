"""用印审批 in phone browsers, against the real platform: the person stamps with a seal that
requires approval and lands on 等待审批; the enterprise account opens 用印审批 from its home,
sees the request, approves it after the face check; the person's screen turns to 已批准.
Enterprise, agent, seal, grant, policy and the relying system's request are set up by API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import Platform
from tests.e2e.test_approvals import CALLBACK, new_world
from tests.e2e.test_stamping import CERT_PASSWORD, new_enterprise, new_seal
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.relying import request_pdf_stamp

from .conftest import OpenScreen
from .steps import enter_certificate_password, login, pass_face_check
from .test_batches_and_signature import qr_photo

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_a_stamp_waits_for_the_approver_and_is_applied_on_approval(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    w = await new_world(api, platform)
    created = await request_pdf_stamp(api, w.client_token, make_test_pdf(pages=2), title="采购合同（审批）",
                                      page=1, x=300.0, y=300.0, callback_url=CALLBACK)
    assert created.status == 201, created
    photo = qr_photo(created.json["qr_payload"], tmp_path / "approval-qr.png")

    # --- the person: scan, stamp with the password, the seal waits --------------------------
    p = await open_screen("person")
    await login(p, "person", w.person.body["phone"], w.person.body["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(photo))
    await expect(p.page).to_have_url(re.compile(r"/app/stamp/[0-9a-f-]{36}$"))
    await p.page.locator(f"[data-test='stamp-enterprise-{w.enterprise.name}']").click()
    await p.page.locator("[data-test=stamp-confirm]").click()
    await enter_certificate_password(p, CERT_PASSWORD)
    await expect(p.page).to_have_url(re.compile(r"/app/stamp/[0-9a-f-]{36}/awaiting/[0-9a-f-]{36}$"),
                                     timeout=40_000)
    await expect(p.page.locator("[data-test=stamp-awaiting-state]")).to_have_text("已签署，等待审批")
    await p.shot("90-stamp-awaiting-approval")

    # --- the enterprise: 用印审批 on its home, the request, 批准 with the face check --------
    e = await open_screen("enterprise")
    await login(e, "enterprise", w.enterprise.body["uscc"], w.enterprise.body["password"])
    entry = e.page.locator("[data-test=service-approvals]")
    await expect(entry).to_be_visible()
    await expect(entry).to_contain_text("1")  # the badge: one waiting
    await e.shot("91-home-approvals-entry")
    await entry.click()
    await expect(e.page).to_have_url(re.compile(r"/app/approvals$"))
    item = e.page.locator("[data-test^=approval-]").filter(has_text="采购合同（审批）")
    await expect(item).to_contain_text(w.person.name)
    await e.shot("92-approvals-list")
    await item.click()
    await expect(e.page.locator("[data-test=approval-state]")).to_have_text("待审批")
    await expect(e.page.locator("[data-test=approval-document]")).to_be_visible()
    await e.page.locator("[data-test=approval-approve]").click()
    await e.page.locator(".van-dialog").get_by_role("button", name="批准").click()
    await pass_face_check(e)
    await expect(e.page.locator("[data-test=approval-state]")).to_have_text("已批准", timeout=40_000)
    await e.shot("93-approval-granted")

    # --- the person's screen follows (polled) -----------------------------------------------
    await expect(p.page.locator("[data-test=stamp-awaiting-state]")).to_have_text(
        "审批已通过，印章已加盖", timeout=20_000)
    await p.shot("94-stamp-approved")
    status = await api.get(f"/api/v1/stamp-requests/{created.json['request_id']}", token=w.client_token)
    assert status.json["status"] == "stamped", status


async def test_the_enterprise_turns_approval_on_for_a_seal(api: Api, open_screen: OpenScreen) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "finance")
    e = await open_screen("enterprise")
    await login(e, "enterprise", enterprise.body["uscc"], enterprise.body["password"])
    await e.goto(f"/app/seals/{seal['seal_id']}")
    await expect(e.page.locator("[data-test=seal-approval]")).to_contain_text("未开启")
    await e.page.locator("[data-test=seal-approval]").click()
    await e.page.locator("[data-test=approval-required]").click()
    await expect(e.page.locator("[data-test=approval-save]")).to_be_disabled()  # nobody chosen yet
    await e.page.locator(f"[data-test=approver-{enterprise.id}]").click()
    await e.shot("95-seal-approval-settings")
    await e.page.locator("[data-test=approval-save]").click()
    await expect(e.page.locator("[data-test=seal-approval]")).to_contain_text("已开启 · 1 位审批人")
    shown = await api.get(f"/api/v1/seals/{seal['seal_id']}", token=enterprise.token)
    assert shown.json["approval_required"] is True and shown.json["approvers"] == [enterprise.id], shown
