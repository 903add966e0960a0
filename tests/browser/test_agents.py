"""我的经办人 in a phone browser: the enterprise adds an agent with every field of the
manual's form and a face check, edits its validity and permission, changes its password,
and deletes it — after which the agent can no longer log in."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from shared.china_time import today_in_china
from tests.support.api import Api
from tests.support.identities import id_number, password, person_name, phone, register_enterprise

from .conftest import OpenScreen
from .steps import login, pass_face_check, pick_in_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def agent_login_status(api: Api, uscc: str, agent_phone: str, secret: str) -> int:
    reply = await api.post("/api/v1/sessions", json={
        "method": "password", "role": "agent", "username": agent_phone, "password": secret,
        "enterprise_uscc": uscc})
    return reply.status


async def test_an_agent_is_added_edited_and_deleted(api: Api, open_screen: OpenScreen) -> None:
    ent = await register_enterprise(api)
    name, number, mobile, secret = person_name(), id_number(), phone(), password()
    next_year = f"{today_in_china().year + 1}年"

    e = await open_screen("enterprise")
    await login(e, "enterprise", ent["uscc"], ent["password"])
    await e.page.locator(".van-tabbar").get_by_text("我的").click()
    await e.page.locator("[data-test=mine-agents]").click()
    await expect(e.page.get_by_text("还没有经办人")).to_be_visible()
    await e.page.locator("[data-test=agent-add]").click()

    form = e.page
    await expect(form.get_by_text("密码为 8-16 位数字、字母或符号至少 2 种的组合")).to_be_visible()
    await form.locator("[data-test=agent-name] input").fill(name)
    await form.locator("[data-test=agent-id-number] input").fill(number)
    await form.locator("[data-test=agent-id-from]").click()
    await pick_in_wheel(e)  # issued today
    # the 10-year choice (the default) filled the end date; 长期有效 clears it, 20年 refills it
    today = today_in_china()
    ten = today.replace(year=today.year + 10).isoformat() if (today.month, today.day) != (2, 29) else None
    if ten:
        await expect(form.locator("[data-test=agent-id-to] input")).to_have_value(ten)
    await form.locator("[data-test=agent-id-term]").get_by_text("长期有效").click()
    await expect(form.locator("[data-test=agent-id-to] input")).to_have_value("长期有效")
    await form.locator("[data-test=agent-id-term]").get_by_text("20年").click()
    id_to = form.locator("[data-test=agent-id-to] input")
    await expect(id_to).to_have_value(re.compile(rf"^{today.year + 20}-"))
    await form.locator("[data-test=agent-phone] input").fill(mobile)
    await form.locator("[data-test=agent-password] input").fill(secret)
    await form.locator("[data-test=agent-password-confirm] input").fill(secret)
    await expect(form.locator("[data-test=agent-valid-from] input")).to_have_value(today.isoformat())
    await form.locator("[data-test=agent-valid-to]").click()
    await pick_in_wheel(e, next_year)
    valid_to = form.locator("[data-test=agent-valid-to] input")
    await expect(valid_to).to_have_value(re.compile(rf"^{today.year + 1}-"))
    await form.locator("[data-test=agent-can-manage]").click()
    await e.shot("30-agent-add", full_page=True)
    await form.locator("[data-test=agent-submit]").click()
    await pass_face_check(e)
    await expect(e.page).to_have_url(re.compile(r"/app/agents$"))
    card = e.page.locator(".agent", has_text=name)
    await expect(card).to_contain_text("经办人管理")
    await expect(card).to_contain_text(mobile[-4:])
    await e.shot("31-agent-list")
    assert await agent_login_status(api, ent["uscc"], mobile, secret) == 201

    # 编辑: validity and permission
    await card.get_by_role("button", name="编辑").click()
    await expect(e.page.get_by_text(name)).to_be_visible()
    await e.page.locator("[data-test=agent-can-manage]").click()
    await e.shot("32-agent-edit")
    await e.page.locator("[data-test=agent-save]").click()
    await expect(e.page).to_have_url(re.compile(r"/app/agents$"))
    await expect(card).not_to_contain_text("经办人管理")

    # 修改密码: the old one stops working
    new_secret = password()
    await card.get_by_role("button", name="修改密码").click()
    await e.page.locator("[data-test=agent-new-password] input").fill(new_secret)
    await e.page.locator("[data-test=agent-new-password-confirm] input").fill(new_secret)
    await e.shot("33-agent-password")
    await e.page.locator("[data-test=agent-password-save]").click()
    await expect(e.page).to_have_url(re.compile(r"/app/agents$"))
    assert await agent_login_status(api, ent["uscc"], mobile, new_secret) == 201
    assert await agent_login_status(api, ent["uscc"], mobile, secret) == 401

    # 删除, confirmed: gone from the list, and no more logins
    await card.locator("[data-test=agent-delete]").click()
    dialog = e.page.locator(".van-dialog")
    await expect(dialog).to_contain_text(name)
    await e.shot("34-agent-delete-confirm")
    await dialog.get_by_role("button", name="删除").click()
    await expect(card).to_have_count(0)
    await expect(e.page.get_by_text("还没有经办人")).to_be_visible()
    assert await agent_login_status(api, ent["uscc"], mobile, new_secret) == 401


async def test_a_wrong_password_is_explained_in_chinese(api: Api, open_screen: OpenScreen) -> None:
    ent = await register_enterprise(api)
    e = await open_screen("enterprise")
    await e.goto("/app/login")
    await e.page.get_by_role("tab", name="企业法人").click()
    await e.page.locator("input[name=username]").fill(ent["uscc"])
    await e.page.locator("input[name=password]").fill("Not-the-pw-1")
    e.expect_http(r"/api/v1/sessions$", 401)
    await e.page.locator("[data-test=login-submit]").click()
    await expect(e.page.locator(".van-toast")).to_contain_text("账号或密码错误")
    await expect(e.page).to_have_url(re.compile(r"/app/login"))
