"""A client that leaves the gateway stops the work it started: the real gateway process
(``python -m gateway``) cancels its forwarding, so the upstream connection closes and the
service can stop the job (stamping's verification watches its connection and kills the
worker). Without handler cancellation the gateway keeps waiting on the upstream for a reader
who is gone, and a verification flood survives its callers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from devstack.stack import PYTHONPATH, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlowUpstream:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def verify(self, request: web.Request) -> web.Response:
        await request.read()
        self.started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return web.json_response({"result": "late"})


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[tuple[SlowUpstream, str]]:
    slow = SlowUpstream()
    app = web.Application()
    app.router.add_post("/api/v1/verifications", slow.verify)
    runner = web.AppRunner(app, handler_cancellation=True)  # to observe the closed connection
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield slow, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.returncode is None, "the gateway exited"
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    pytest.fail("the gateway did not start")


async def test_a_client_leaving_the_gateway_cancels_the_upstream_request(
        upstream: tuple[SlowUpstream, str]) -> None:
    slow, upstream_url = upstream
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESEAL_")}
    env.update({"PYTHONPATH": PYTHONPATH, "ESEAL_ENV": "test", "ESEAL_PORT": str(port),
                "ESEAL_INTERNAL_PORT": str(_free_port()), "ESEAL_STAMPING_URL": upstream_url})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", cwd=ROOT, env=env,
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}", proc)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = b"%PDF-1.7\n"
        writer.write(b"POST /api/v1/verifications HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/pdf\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        await asyncio.wait_for(slow.started.wait(), 15)
        writer.close()  # the caller goes away while the service works
        await asyncio.wait_for(slow.cancelled.wait(), 10)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
