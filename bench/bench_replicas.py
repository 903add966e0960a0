"""Replicas: the same load through the gateway against 1 and then 2 replicas of every service.

Two paths are measured on each platform, one after the other, on the same machine in the
same run:

- **stamping**: 8 persons stamp 32 distinct prepared requests (10-page PDF) at once; the
  figure is stamps per second over the whole burst. Every stamp is one Argon2id KDF and one
  PAdES signing, so it is CPU-bound: on a machine with C cores, replicas help only while
  the processes of one replica leave cores idle.
- **read path**: 16 clients list the enterprise's seals and its usage records
  (``GET /api/v1/seals``, ``GET /api/v1/usage-records``) for a fixed time; requests per
  second and p99.

The ratio of each figure is against the 1-replica platform measured in this run (the
baseline). ``docs/OPERATIONS.md`` ("Scaling") explains the figures.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from devstack.stack import Stack
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf

from .bench_stamping import World, _drain, _ready_request, _world
from .common import Report, percentile, running_platform

PERSONS = 8
STAMPS = 32
READERS = 16
READ_SECONDS = 8.0


def _rss_mib(stack: Stack) -> float:
    """Resident memory of every process of the platform (services and gateway), MiB."""
    total = 0
    for proc in stack.processes.values():
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
    return total / 1024


async def _stamping(w: World, pdf: bytes) -> tuple[float, float, float]:
    ready = [(await _ready_request(w, pdf, w.persons[i % PERSONS][1]), w.persons[i % PERSONS][1])
             for i in range(STAMPS)]
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in ready:
        queue.put_nowait(item)
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_drain(w, queue, latencies) for _ in range(PERSONS)))
    wall = time.perf_counter() - started
    return STAMPS / wall, percentile(latencies, 50), percentile(latencies, 99)


async def _reads(w: World) -> tuple[float, float]:
    paths = ("/api/v1/seals", "/api/v1/usage-records")
    latencies: list[float] = []
    deadline = time.perf_counter() + READ_SECONDS

    async def reader(i: int) -> None:
        n = i
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            r = await w.api.get(paths[n % 2], token=w.enterprise_token)
            assert r.status == 200, r
            latencies.append((time.perf_counter() - started) * 1000)
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(reader(i) for i in range(READERS)))
    return len(latencies) / (time.perf_counter() - started), percentile(latencies, 99)


async def _measure(replicas: int) -> dict[str, float]:
    async with running_platform(replicas=replicas, rate_limit_scale=1000) as (config, stack):
        api = Api(config.url("gateway"))
        try:
            w = await _world(api, config, PERSONS)
            pdf = make_test_pdf(pages=10)
            await _stamping(w, pdf)  # warm-up burst: imports, pools, caches in every replica
            stamps, p50, p99 = await _stamping(w, pdf)
            reads, read_p99 = await _reads(w)
            return {"stamps": stamps, "stamp_p50": p50, "stamp_p99": p99, "reads": reads,
                    "read_p99": read_p99, "rss": _rss_mib(stack), "processes": float(len(stack.processes))}
        finally:
            await api.close()


async def run(report: Report) -> None:
    report.add("cores on this machine", float(os.cpu_count() or 1), "cores")
    one = await _measure(1)
    two = await _measure(2)
    report.add("1 replica: stamping throughput (8 persons)", one["stamps"], "stamps/s")
    report.add("2 replicas: stamping throughput (8 persons)", two["stamps"], "stamps/s",
               baseline_name="1 replica", baseline_value=one["stamps"])
    report.add("1 replica: stamp p50", one["stamp_p50"], "ms")
    report.add("1 replica: stamp p99", one["stamp_p99"], "ms")
    report.add("2 replicas: stamp p50", two["stamp_p50"], "ms", baseline_name="1 replica",
               baseline_value=one["stamp_p50"])
    report.add("2 replicas: stamp p99", two["stamp_p99"], "ms", baseline_name="1 replica",
               baseline_value=one["stamp_p99"])
    report.add("1 replica: reads (seals, usage records)", one["reads"], "req/s")
    report.add("2 replicas: reads (seals, usage records)", two["reads"], "req/s",
               baseline_name="1 replica", baseline_value=one["reads"])
    report.add("1 replica: processes", one["processes"], "procs")
    report.add("1 replica: resident memory after the load", one["rss"], "MiB")
    report.add("2 replicas: processes", two["processes"], "procs")
    report.add("2 replicas: resident memory after the load", two["rss"], "MiB",
               baseline_name="1 replica", baseline_value=one["rss"])
    report.add("1 replica: read p99", one["read_p99"], "ms")
    report.add("2 replicas: read p99", two["read_p99"], "ms", baseline_name="1 replica",
               baseline_value=one["read_p99"])
