"""扫一扫: with the camera (Chromium's fake camera plays a video of a stamp request's QR code,
decoded live) and with a picked photo that is hard to decode (the ordinary photo path is in
test_stamping_journey)."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, async_playwright, expect

from tests.conftest import Platform
from tests.support.api import Api
from tests.support.identities import login as api_login
from tests.support.identities import password, register_enterprise, register_person

from .conftest import OpenScreen
from .screen import CHROMIUM, CHROMIUM_ARGS, PHONE, Screen
from .steps import (
    activate_certificate_by_api,
    contract_pdf_bytes,
    create_relying_client,
    grant_by_api,
    issue_seal_by_api,
    login,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
FIXTURES = Path(__file__).parent / "fixtures"


def qr_video(png: bytes, path: Path) -> Path:
    """A still Y4M video (what Chromium's fake camera plays) of the QR code on white paper."""
    frame = Image.new("L", (640, 480), 255)
    code = Image.open(io.BytesIO(png)).convert("L")
    code.thumbnail((400, 400))
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    planes = y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes()
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + planes) * 5)
    return path


async def stamp_request_qr(api: Api, platform: Platform, pdf: bytes) -> tuple[str, bytes]:
    client = create_relying_client(platform, "摄像头扫码测试系统")
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    token = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
    assert token.status == 200, token
    bearer = token.json["access_token"]
    form = aiohttp.FormData()
    form.add_field("document", pdf, filename="contract.pdf", content_type="application/pdf")
    for key, value in {"title": "摄像头扫码合同", "page": "1", "x": "400", "y": "150"}.items():
        form.add_field(key, value)
    created = await api.post("/api/v1/stamp-requests", data=form, token=bearer)
    assert created.status == 201, created
    qr = await api.get(created.json["qr_png_url"], token=bearer)
    assert qr.status == 200 and qr.body.startswith(b"\x89PNG"), qr
    return created.json["request_id"], qr.body


@pytest_asyncio.fixture
async def camera_browser(tmp_path: Path) -> AsyncIterator[tuple[Browser, Path]]:
    video = tmp_path / "qr.y4m"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"])
        yield browser, video
        await browser.close()


async def test_the_camera_scans_the_qr_code(api: Api, platform: Platform, tmp_path: Path,
                                            camera_browser: tuple[Browser, Path]) -> None:
    ent, person = await register_enterprise(api), await register_person(api)
    ent_token = (await api_login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    await activate_certificate_by_api(api, ent_token, ent["legal_representative"]["phone"], password())
    seal = await issue_seal_by_api(api, ent_token, "contract")
    await grant_by_api(api, ent_token, seal["seal_id"], person)
    person_token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    await activate_certificate_by_api(api, person_token, person["phone"], password())
    request_id, png = await stamp_request_qr(api, platform, contract_pdf_bytes())

    browser, video = camera_browser
    qr_video(png, video)  # Chromium opens the file when the page asks for the camera
    context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    await context.grant_permissions(["camera"], origin=platform.gateway_url)
    screen = Screen("camera", await context.new_page(), platform.gateway_url)
    screen.watch()
    try:
        await login(screen, "person", person["phone"], person["password"])
        await screen.goto("/app/scan")
        # Live decoding of a fake camera's frames is slow on a loaded 2-core CI machine.
        await expect(screen.page).to_have_url(re.compile(rf"/app/stamp/{request_id}$"), timeout=45_000)
        await expect(screen.page.locator("[data-test=stamp-title]")).to_have_text("摄像头扫码合同")
        await expect(screen.page.locator("[data-test=stamp-seal-contract]")).to_be_visible()
    finally:
        await context.close()
    assert not screen.problems, screen.problems


async def test_a_picked_photo_of_an_unknown_code_is_read_and_explained(
        api: Api, open_screen: OpenScreen) -> None:
    """A real screenshot of a QR code that ZXing's TRY_HARDER mode alone misses is still
    read; its request is unknown to this platform, which the app says in Chinese."""
    person = await register_person(api)
    p = await open_screen("person")
    await login(p, "person", person["phone"], person["password"])
    token = (await api_login(api, "person", person["phone"], person["password"]))["access_token"]
    await activate_certificate_by_api(api, token, person["phone"], password())
    p.expect_http(r"/api/v1/scans$", 404)  # qr_invalid: shown in the dialog below
    await p.goto("/app/scan")
    await p.page.locator("[data-test=scan-file]").set_input_files(str(FIXTURES / "qr-screenshot-442px.png"))
    dialog = p.page.locator(".van-dialog")
    await expect(dialog).to_contain_text("无法使用该二维码")
    await expect(dialog).to_contain_text("二维码无效或已使用")
    await p.shot("17c-scan-unknown-code")
