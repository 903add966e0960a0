"""Seal images: render time per shape, and the preview endpoint's rate through the gateway.

1. **Render time** (p50, p99 wall; p50 CPU) of ``render_seal`` per shape, in this process,
   one thread, every sample a different name (nothing cached): round (合同专用章, 42 mm), oval
   (发票专用章 with the credit code, 40x30 mm), square (法定代表人名章, 20 mm).
2. **Preview rate** through the gateway: the whole platform runs as processes; an enterprise
   registers and logs in, then ``POST /api/v1/seals/preview`` is called by concurrent clients
   for a fixed time, with distinct names (every request renders) and with one repeated name
   (served from the seals service's small LRU of recent previews). Baseline: what one
   thread renders per second in-process (1 / mean render time of round seals).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp
from seals.adapters.rendering import render_seal

from tests.support import identities as ids
from tests.support.api import Api

from .common import Report, percentile, running_platform

SAMPLES = 60
CONCURRENCY = 8
DURATION = 10.0  # seconds per preview series
SHAPES = (("round", "contract", "合同专用章"), ("oval", "invoice", "发票专用章"),
          ("square", "legal_representative", ""))
USCC = "91220101MA0Y3XXX7K"
_CHARS = "长春吉林市省示例科技商贸有限公司集团股份实业发展建设工程信息服务"


def _name(i: int, label: str, square: bool) -> str:
    if square:  # a person's name, 2-4 characters
        return _CHARS[i % 20] + _CHARS[(i * 7 + 3) % 30] + ("" if i % 2 else _CHARS[(i * 11) % 30])
    core = "".join(_CHARS[(i * k + k) % len(_CHARS)] for k in range(1, 9 + i % 6))
    return core + "有限公司" + label


async def run(report: Report) -> None:
    round_mean = _render_times(report)
    async with running_platform() as (config, _):
        await _preview_rates(report, config.url("gateway"), round_mean)


def _render_times(report: Report) -> float:
    render_seal("contract", "预热科技有限公司合同专用章")  # fonts loaded once per process
    round_mean = 0.0
    for shape, type_code, label in SHAPES:
        times, cpu = [], []
        for i in range(SAMPLES):
            name = _name(i, label, shape == "square")
            started, started_cpu = time.perf_counter(), time.process_time()
            render_seal(type_code, name, uscc=USCC)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        report.add(f"render {shape} seal p50", percentile(times, 50), "ms")
        report.add(f"render {shape} seal p99", percentile(times, 99), "ms")
        # CPU time is what a render costs; wall time also shows how busy the machine was
        report.add(f"render {shape} seal CPU p50", percentile(cpu, 50), "ms")
        if shape == "round":
            round_mean = statistics.fmean(times)
    return round_mean


async def _preview_rates(report: Report, gateway: str, round_mean_ms: float) -> None:
    api = Api(gateway)
    try:
        ent = await ids.register_enterprise(api)
        session = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    finally:
        await api.close()
    token = session["access_token"]
    baseline = 1000.0 / round_mean_ms
    distinct = await _series(gateway, token, lambda i: {"type": "contract",
                                                        "name": _name(i, "合同专用章", False)})
    report.add(f"preview via gateway, distinct names, c={CONCURRENCY}", distinct, "req/s",
               baseline_name="in-process render, 1 thread", baseline_value=baseline)
    repeated = await _series(gateway, token, lambda i: {"type": "contract"})
    report.add(f"preview via gateway, repeated name, c={CONCURRENCY}", repeated, "req/s",
               baseline_name="in-process render, 1 thread", baseline_value=baseline)


async def _series(gateway: str, token: str, body: Any) -> float:
    counter = iter(range(10**9))
    done = 0
    deadline = time.monotonic() + DURATION
    headers = {"Authorization": f"Bearer {token}"}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with session.post(gateway + "/api/v1/seals/preview", json=body(next(counter)),
                                    headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"preview answered {r.status}")
            done += 1

    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CONCURRENCY)))
    return done / (time.monotonic() - started)
