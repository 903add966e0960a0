"""An OFD end to end in phone browsers, against the real platform:

the demo relying system takes its sample OFD (ofdrw's Page5.ofd, no renderer: page and seal
centre in millimetres), the person scans its QR code and sees the OFD's title, pages and
hash, stamps with the certificate password; the demo offers the stamped .ofd and the
verification page passes it, naming GB/T 38540 / SM2 and drawing the seal (the picture the
document embeds) at its position on the page. Enterprise, seal, grant and certificates are
set up by API (the PDF journey shows those screens).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise, register_person
from tests.support.polling import eventually

from .conftest import OpenScreen
from .steps import (
    activate_certificate_by_api,
    create_relying_client,
    enter_certificate_password,
    grant_by_api,
    issue_seal_by_api,
    login,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SAMPLE = Path(__file__).resolve().parents[2] / "web/src/demo/samples/ofdrw-Page5.ofd"


async def test_an_ofd_from_the_demo_is_stamped_and_verifies_with_its_seal_drawn(
        api: Api, platform: Platform, open_screen: OpenScreen, tmp_path: Path) -> None:
    ent, person = await register_enterprise(api), await register_person(api)
    ent_token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    await activate_certificate_by_api(api, ent_token, ent["legal_representative"]["phone"], password())
    seal = await issue_seal_by_api(api, ent_token, "official")
    await grant_by_api(api, ent_token, seal["seal_id"], person)
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    cert_pw = password()
    await activate_certificate_by_api(api, person_token, person["phone"], cert_pw)

    async def granted() -> bool:
        return bool((await api.get("/api/v1/my/enterprises", token=person_token)).json["items"])

    assert await eventually(granted, 15, every=0.2, what="the grant in the person's view")

    # --- the demo: the sample OFD, page and position in millimetres ------------------------
    client = create_relying_client(platform, "公文交换系统（演示）")
    d = await open_screen("demo")
    await d.goto("/demo/")
    await d.page.locator("[data-test=demo-client-id] input").fill(client["client_id"])
    await d.page.locator("[data-test=demo-client-secret] input").fill(client["client_secret"])
    await d.page.locator("[data-test=demo-sample-ofd]").click()
    await expect(d.page.locator("[data-test=demo-fileinfo]")).to_contain_text("OFD")
    await expect(d.page.locator("[data-test=demo-ofd-hint]")).to_be_visible()
    await expect(d.page.locator("[data-test=demo-canvas]")).to_have_count(0)  # no renderer for OFD
    await d.page.locator("[data-test=demo-title] input").fill("关于开展专项检查的通知")
    await d.page.locator("[data-test=demo-page] input").fill("2")
    await d.page.locator("[data-test=demo-x-mm] input").fill("150")
    await d.page.locator("[data-test=demo-y-mm] input").fill("240")
    await d.shot("50-demo-ofd-setup", full_page=True)
    await d.page.locator("[data-test=demo-create]").click()
    qr = d.page.locator("[data-test=demo-qr]")
    await expect(qr).to_be_visible()
    await qr.scroll_into_view_if_needed()
    qr_photo = tmp_path / "qr-photo.png"
    await qr.screenshot(path=str(qr_photo))

    # --- the person: scan, see the OFD's title, pages and hash, stamp ----------------------
    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(qr_photo))
    await expect(p.page).to_have_url(re.compile(r"/app/stamp/[0-9a-f-]{36}$"))
    await expect(p.page.locator("[data-test=stamp-title]")).to_have_text("关于开展专项检查的通知")
    await expect(p.page.locator("[data-test=stamp-format]")).to_contain_text("OFD")
    await expect(p.page.locator("[data-test=stamp-pages]")).to_contain_text("共 5 页")
    sha = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    await expect(p.page.locator("[data-test=stamp-hash]")).to_have_attribute("data-sha256", sha)
    await expect(p.page.locator("[data-test=stamp-hash]")).to_contain_text(sha[:12])
    await p.page.locator(f"[data-test='stamp-enterprise-{ent['name']}']").click()
    await expect(p.page.locator("[data-test=stamp-seal-official] .van-radio__icon--checked")).to_be_visible()
    await p.shot("51-stamp-ofd")
    await p.page.locator("[data-test=stamp-confirm]").click()
    await enter_certificate_password(p, cert_pw)
    await expect(p.page.locator("[data-test=stamp-done]")).to_be_visible(timeout=40_000)

    # --- the demo offers the stamped OFD; the verification page passes it and draws it ------
    download_button = d.page.locator("[data-test=demo-download]")
    await expect(download_button).to_be_visible(timeout=30_000)
    async with d.page.expect_download() as info:
        await download_button.click()
    download = await info.value
    assert download.suggested_filename.endswith(".ofd"), download.suggested_filename
    stamped = tmp_path / "stamped.ofd"
    await download.save_as(str(stamped))
    with zipfile.ZipFile(io.BytesIO(stamped.read_bytes())) as z:
        assert any(n.endswith("/SignedValue.dat") for n in z.namelist())

    v = await open_screen("verify")
    await v.goto("/verify/")
    await v.page.locator("[data-test=verify-file]").set_input_files(str(stamped))
    await v.page.locator("[data-test=verify-submit]").click()
    report = v.page.locator("[data-test=verify-report]")
    await expect(report).to_have_attribute("data-result", "passed")
    await expect(report.locator("[data-test=verify-format]")).to_contain_text("GB/T 38540")
    await expect(report.locator("[data-test=verify-format]")).to_contain_text("SM2")
    await expect(report.locator("[data-test=verify-enterprise]")).to_have_text(ent["name"])
    await expect(report.locator("[data-test=verify-ofd-position]")).to_contain_text("第 2 页")
    picture = report.locator("[data-test=verify-ofd-seal-picture]")
    await expect(picture).to_be_visible()
    assert await picture.evaluate("img => img.complete && img.naturalWidth > 0")
    # drawn to scale: the seal box's centre sits at 150/210 across and 240/297 down the page
    box = await report.locator("[data-test=verify-ofd-seal-box]").bounding_box()
    page = await report.locator("[data-test=verify-ofd-stamp] .ver__page").bounding_box()
    assert box is not None and page is not None
    cx = (box["x"] + box["width"] / 2 - page["x"]) / page["width"]
    cy = (box["y"] + box["height"] / 2 - page["y"]) / page["height"]
    assert abs(cx - 150 / 210) < 0.03 and abs(cy - 240 / 297) < 0.03, (cx, cy)
    await v.shot("52-verify-ofd", full_page=True)
