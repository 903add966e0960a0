"""Run benchmarks: ``python -m bench`` (all) or ``python -m bench eventstore relay``."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from .common import Report


def main() -> None:
    wanted = set(sys.argv[1:])
    found = pkgutil.iter_modules([str(Path(__file__).parent)])
    modules = sorted(m.name for m in found if m.name.startswith("bench_"))
    figures = []
    for name in modules:
        area = name.removeprefix("bench_")
        if wanted and area not in wanted:
            continue
        print(f"\n== {area}", flush=True)
        report = Report(area=area)
        started = time.perf_counter()
        asyncio.run(importlib.import_module(f"bench.{name}").run(report))
        figures.extend(report.figures)
        print(f"  ({time.perf_counter() - started:.1f}s)")
    print("\n== summary")
    for f in figures:
        ratio = f"{f.ratio:.2f}× {f.baseline_name}" if f.ratio else ""
        print(f"{f.area:<12} {f.metric:<48} {f.value:>12,.2f} {f.unit:<8} {ratio}")


main()
