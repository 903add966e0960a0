"""The two worker pools at the port level: verification's processes cannot take stamping's
threads, a job past its deadline or whose caller left is killed, and a flood is refused."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from stamping.adapters.loops import PdfWorkers, StampingTimedOut
from stamping.adapters.pdf import DocumentTooComplex
from stamping.adapters.verifier import VerificationBusy, VerificationWorkers

from tests.support.polling import eventually
from tests.support.slow_jobs import busy_loop, sleep_and_report


@pytest_asyncio.fixture
async def verifier() -> AsyncIterator[VerificationWorkers]:
    pool = VerificationWorkers(2, deadline_seconds=1.5, queue=4)
    try:
        yield pool
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child may linger as a zombie until reaped
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _read_pid(pid_file: Path) -> int | None:
    text = pid_file.read_text() if pid_file.exists() else ""
    return int(text) if text else None


async def _pid_of_running_job(pid_file: Path) -> int:
    return await eventually(lambda: _read_pid(pid_file), 20, every=0.02, what="the job's start")


async def test_a_verification_flood_does_not_hold_up_stamping(verifier: VerificationWorkers) -> None:
    """Every verification slot busy with CPU-bound work; a stamping job still runs at once."""
    await verifier.run(busy_loop, 0.01)  # workers up
    stamping = PdfWorkers(2, deadline_seconds=5)
    flood = [asyncio.create_task(verifier.run(busy_loop, 1.2)) for _ in range(4)]
    await asyncio.sleep(0.2)

    async def stamp_job() -> str:
        await asyncio.sleep(0.01)  # like waiting for seals
        return "stamped"

    started = time.monotonic()
    for _ in range(5):
        assert await stamping.run(stamp_job) == "stamped"
    assert time.monotonic() - started < 1.0, "stamping waited for verification"
    with pytest.raises(VerificationBusy) as busy:  # the queue is full: refused at once
        await verifier.run(busy_loop, 0.01)
    assert busy.value.status == 503 and busy.value.code == "verification_busy"
    assert all(isinstance(n, int) for n in await asyncio.gather(*flood))
    stamping.close()


async def test_a_job_past_its_deadline_is_killed(verifier: VerificationWorkers) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp) / "pid"
        job = asyncio.create_task(verifier.run(sleep_and_report, 30, str(pid_file)))
        pid = await _pid_of_running_job(pid_file)
        started = time.monotonic()
        with pytest.raises(DocumentTooComplex) as e:
            await job
        assert e.value.status == 422 and e.value.code == "document_too_complex"
        assert time.monotonic() - started < 3
        await _eventually_dead(pid)
    assert await verifier.run(busy_loop, 0.01) >= 0  # a fresh worker took its place


async def test_cancelling_the_caller_kills_its_job(verifier: VerificationWorkers) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp) / "pid"
        job = asyncio.create_task(verifier.run(sleep_and_report, 30, str(pid_file)))
        pid = await _pid_of_running_job(pid_file)
        assert _alive(pid)
        job.cancel()  # what aiohttp's disconnect handling does to the handler's work
        with pytest.raises(asyncio.CancelledError):
            await job
        await _eventually_dead(pid)


async def _eventually_dead(pid: int) -> None:
    await eventually(lambda: not _alive(pid), 5, what=f"the end of worker {pid}")


async def test_a_stamping_job_has_a_deadline_too() -> None:
    workers = PdfWorkers(1, deadline_seconds=0.2)

    async def stuck() -> None:
        await asyncio.sleep(30)  # a peer that never answers

    started = time.monotonic()
    with pytest.raises(StampingTimedOut) as e:
        await workers.run(stuck)
    assert e.value.status == 504 and time.monotonic() - started < 2
    workers.close()


async def test_a_plain_function_runs_in_a_pdf_thread_or_inline_without_threads() -> None:
    workers = PdfWorkers(1)
    try:
        assert (await workers.call(lambda: threading.current_thread().name)).startswith("pdf")
    finally:
        workers.close()
    inline = PdfWorkers(0)
    assert await inline.call(lambda: threading.current_thread().name) == threading.current_thread().name
