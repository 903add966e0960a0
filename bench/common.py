"""What every benchmark shares: a report of figures with their baselines, and a platform.

A benchmark module is ``bench/bench_<area>.py`` with ``async def run(report: Report) -> None``.
It measures its figure and, where the goal is relative, the named baseline in the same run,
and adds both with ``report.add``. ``python -m bench [area ...]`` runs them and prints a table.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.stack import ROOT, Stack, StackConfig, delete_vhost, drop_databases, ensure_vhost


@dataclass
class Figure:
    area: str
    metric: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    goal: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]


@dataclass
class Report:
    area: str = ""
    figures: list[Figure] = field(default_factory=list)

    def add(self, metric: str, value: float, unit: str, *, baseline_name: str | None = None,
            baseline_value: float | None = None, goal: str = "") -> None:
        f = Figure(self.area, metric, value, unit, baseline_name, baseline_value, goal)
        self.figures.append(f)
        ratio = f"  ratio {f.ratio:.2f} vs {baseline_name} ({baseline_value:,.1f} {unit})" if f.ratio else ""
        print(f"  {metric:<48} {value:>12,.2f} {unit:<10}{ratio}{'  goal: ' + goal if goal else ''}",
              flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def platform_stack(*, replicas: int = 1, rate_limit_scale: int | None = None,
                   log_dir: Path | None = None) -> Iterator[tuple[StackConfig, Stack]]:
    """The whole platform on its own databases, vhost and ports, for one benchmark run.

    ``rate_limit_scale`` lifts the gateway's per-address limits, which would otherwise cap
    (or measure) a load test whose every request comes from loopback."""
    import asyncio

    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_bench_{run}"
    ensure_vhost(vhost)
    env = {"ESEAL_LOG_LEVEL": "WARNING"}
    if rate_limit_scale is not None:
        env["ESEAL_RATE_LIMIT_SCALE"] = str(rate_limit_scale)
    # ports 28080–32596: above the test platforms' (browser_safe_offset), below Linux's
    # ephemeral range (32768+), where an outgoing connection may already hold the port
    config = StackConfig(db_prefix=f"eseal_b{run}_", amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                         port_offset=random.randrange(200, 245) * 100, internal_port_offset=10, env="test",
                         log_dir=log_dir or ROOT / ".run" / "bench-logs" / run, replicas=replicas,
                         extra_env=env)
    stack = Stack(config)
    stack.migrate()
    stack.start()
    try:
        stack.wait_ready(120 + 60 * (replicas - 1))
        yield config, stack
    finally:
        stack.stop()
        # A thread of its own: the caller may be inside a running event loop.
        cleanup = threading.Thread(target=asyncio.run, args=(drop_databases(config.db_prefix),))
        cleanup.start()
        cleanup.join()
        delete_vhost(vhost)


@contextlib.asynccontextmanager
async def running_platform(**options: Any) -> AsyncIterator[tuple[StackConfig, Stack]]:
    """``platform_stack`` for an async benchmark: started and stopped in a thread, so the
    benchmark's event loop keeps running while processes start and databases are dropped."""
    import asyncio

    cm = platform_stack(**options)
    entered = await asyncio.to_thread(cm.__enter__)
    try:
        yield entered
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)
