"""A relying system (盖章系统) as ops set it up and as it talks to the platform.

* ``create_client(platform, name)`` runs the stamping ops CLI (``python -m stamping
  create-client --name ... --json``) in the stamping service's environment, as ops would;
* ``client_token(api, client)`` is the OAuth client-credentials grant;
* ``request_pdf_stamp(api, token, pdf, ...)`` posts a PDF stamp request (multipart).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp

from devstack.stack import ROOT

from .api import Api, Reply

CLI_TIMEOUT = 60.0  # seconds


@dataclass
class RelyingSystem:
    client_id: str
    client_secret: str
    webhook_secret: str
    name: str
    token: str = ""


async def create_client(platform: Any, name: str) -> RelyingSystem:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stamping", "create-client", "--name", name, "--json",
        cwd=ROOT, env=platform.config.environment("stamping"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(CLI_TIMEOUT):
            out, err = await proc.communicate()
    except BaseException:  # timed out, or the test was cancelled: leave no process behind
        if proc.returncode is None:
            proc.kill()
            await asyncio.shield(proc.wait())
        raise
    assert proc.returncode == 0, err.decode(errors="replace")
    body = json.loads(out.decode().strip().splitlines()[-1])
    return RelyingSystem(body["client_id"], body["client_secret"], body["webhook_secret"], body["name"])


async def client_token(api: Api, client: RelyingSystem) -> str:
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    r = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"})
    assert r.status == 200 and r.json["token_type"] == "Bearer", r
    return str(r.json["access_token"])


async def request_pdf_stamp(api: Api, token: str, pdf: bytes, *, title: str, page: int, x: float,
                            y: float, **extra: str) -> Reply:
    form = aiohttp.FormData()
    for k, v in {"title": title, "page": str(page), "x": str(x), "y": str(y), **extra}.items():
        form.add_field(k, v)
    form.add_field("document", pdf, filename="document.pdf", content_type="application/pdf")
    return await api.post("/api/v1/stamp-requests", token=token, data=form)
