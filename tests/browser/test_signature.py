"""个人电子签名: none at first (the app prompts to add one); a handwritten signature drawn
on the canvas with a finger (touch) and a mouse is saved; only one is kept, so it is
deleted before a generated one takes its place."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.api import Api
from tests.support.identities import register_person

from .conftest import OpenScreen
from .screen import Screen
from .steps import login

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def draw_with_finger(screen: Screen, points: list[tuple[float, float]]) -> None:
    """One touch stroke, as a phone sends it (Chromium turns it into pointer events)."""
    cdp = await screen.page.context.new_cdp_session(screen.page)
    kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1)
    for kind, (x, y) in zip(kinds, points, strict=True):
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def draw_with_mouse(screen: Screen, points: list[tuple[float, float]]) -> None:
    mouse = screen.page.mouse
    await mouse.move(*points[0])
    await mouse.down()
    for x, y in points[1:]:
        await mouse.move(x, y, steps=4)
    await mouse.up()


async def test_a_handwritten_signature_then_a_generated_one(api: Api, open_screen: OpenScreen) -> None:
    person = await register_person(api)
    p = await open_screen("person")
    p.expect_http(r"/api/v1/my/signature$", 404)  # "no signature yet": the prompt below
    await login(p, "person", person["phone"], person["password"])
    await p.page.locator(".van-tabbar").get_by_text("我的").click()
    await p.page.locator("[data-test=mine-signature]").click()
    await expect(p.page.locator("[data-test=signature-empty]")).to_contain_text("您还没有设置个人电子签名")
    await p.shot("50-signature-empty")

    await p.page.locator("[data-test=signature-add]").click()
    await expect(p.page.get_by_text("选择添加方式")).to_be_visible()
    await p.shot("51-signature-choose")
    await p.page.get_by_role("button", name="手写签名").click()
    canvas = p.page.locator("[data-test=signature-canvas]")
    await expect(canvas).to_be_visible()
    box = await canvas.bounding_box()
    assert box is not None
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    save = p.page.locator("[data-test=signature-save]")
    await expect(save).to_be_disabled()  # nothing drawn yet

    # a finger writes the first strokes, the mouse the rest
    await draw_with_finger(p, [(x0 + w * (0.15 + i * 0.02), y0 + h * (0.3 + i * 0.03)) for i in range(12)])
    await draw_with_finger(p, [(x0 + w * 0.2, y0 + h * (0.3 + i * 0.04)) for i in range(10)])
    await expect(save).to_be_enabled()
    zigzag = [(x0 + w * (0.45 + i * 0.03), y0 + h * (0.55 - (i % 4) * 0.06)) for i in range(10)]
    await draw_with_mouse(p, zigzag)
    await draw_with_mouse(p, [(x0 + w * (0.7 + i * 0.02), y0 + h * (0.35 + i * 0.04)) for i in range(8)])
    inked = await canvas.evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        let n = 0
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++
        return n }""")
    assert inked > 500, inked
    await p.shot("52-signature-handwritten")
    await save.click()

    card = p.page.locator("[data-test=signature-card]")
    await expect(card).to_contain_text("手写签名")
    image = card.locator("img[data-test=signature-image]")
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.complete && img.naturalWidth > 50")
    await p.shot("53-signature-saved")

    # only one signature: delete it, then have one generated from the name
    await p.page.locator("[data-test=signature-delete]").click()
    await p.page.locator(".van-dialog").get_by_role("button", name="确认").click()
    await expect(p.page.locator("[data-test=signature-empty]")).to_be_visible()
    await p.page.locator("[data-test=signature-add]").click()
    await p.page.get_by_role("button", name="自动生成").click()
    await expect(p.page.locator("[data-test=signature-generated-preview]")).to_have_text(person["name"])
    await p.shot("54-signature-generate")
    await p.page.locator("[data-test=signature-confirm]").click()
    await expect(card).to_contain_text("自动生成")
    await expect(card.locator("img[data-test=signature-image]")).to_be_visible()
