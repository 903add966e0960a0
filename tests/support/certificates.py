"""Certificate activation (数字证书激活) as the app does it: SMS code, password, agreements."""

from __future__ import annotations

import re
from typing import Any

from .api import Api, Reply

_CODE = re.compile(r"验证码(\d{6})")


async def last_sms_code(api: Api, phone: str) -> str:
    """The code in the newest sandbox SMS sent to ``phone``."""
    r = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
    assert r.status == 200 and r.json["items"], r
    match = _CODE.search(r.json["items"][0]["text"])
    assert match, r.json["items"][0]
    return match.group(1)


async def current_agreements(api: Api) -> list[dict[str, str]]:
    r = await api.get("/api/v1/agreements")
    assert r.status == 200 and r.json["items"], r
    return [{"code": a["code"], "version": a["version"]} for a in r.json["items"]]


async def activate_certificate(api: Api, token: str, phone: str, password: str) -> dict[str, Any]:
    """Ask for the code, read it from the sandbox SMS, accept every current agreement and
    activate with ``password``; returns the certificate (201 body)."""
    sent = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert sent.status == 202, sent
    r: Reply = await api.post("/api/v1/certificate", token=token, json={
        "sms_code": await last_sms_code(api, phone), "password": password,
        "password_confirm": password, "accepted_agreements": await current_agreements(api)})
    assert r.status == 201, r
    return dict(r.json)
