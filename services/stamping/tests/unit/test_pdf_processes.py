"""Stamping's PDF worker processes (issue 18): a stamp signed in a worker process is the same
signed document, its seal signature and timestamp come from this process (the worker holds no
key), refusals arrive as the same error, a stuck peer hits the deadline, a dead worker is
replaced, and the event loop stays free while the worker computes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from stamping.adapters.loops import PdfWorkers, StampingTimedOut
from stamping.adapters.pdf import SignatureFieldExists, StampMetadata, StampSigningError, verify_pdf
from stamping.adapters.pdf.signing import Mark
from stamping.adapters.pdf_processes import PdfStampJob, der

from shared.errors import EsealError
from tests.support.pdf_fixtures import LocalDigestSigner, build_test_pki, make_seal_png, make_test_pdf


@pytest.fixture(scope="module")
def pki():
    return build_test_pki()


@pytest_asyncio.fixture
async def workers() -> AsyncIterator[PdfWorkers]:
    pool = PdfWorkers(1, deadline_seconds=20, processes=1, jobs_per_process=4)
    await pool.start()
    try:
        yield pool
    finally:
        pool.close()


def _metadata(request_id: str = "req-1", person_signature: str = "") -> StampMetadata:
    return StampMetadata(seal_id="seal-1", seal_name="测试公章", seal_type="公章",
                         enterprise_name="测试有限公司", enterprise_uscc="91110000MA00TEST0X",
                         signer_person_name="张三",
                         signer_person_id="person-1", stamped_at=datetime(2026, 1, 1, tzinfo=UTC),
                         request_id=request_id, person_signature_b64=person_signature)


def _job(pki, pdf: bytes, field_name: str = "eseal-req-1") -> PdfStampJob:
    return PdfStampJob(pdf=pdf, marks=(Mark(2, 300.0, 300.0),), seal_png=make_seal_png(), seal_size_pt=120.0,
                       seal_height_pt=120.0, chain_der=der(pki.chain), roots_der=der([pki.root_cert]),
                       crls_der=der(pki.crls), others_der=der([pki.issuing_cert, pki.tsa_cert]),
                       metadata=_metadata(), field_name=field_name, max_bytes=10 * 1024 * 1024,
                       final_metadata=True)


class CountingSigner(LocalDigestSigner):
    def __init__(self, key, *, fail: EsealError | None = None, hang: bool = False) -> None:
        super().__init__(key)
        self.pid, self.fail, self.hang = 0, fail, hang

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        self.pid = os.getpid()
        if self.hang:
            await asyncio.sleep(60)
        if self.fail is not None:
            raise self.fail
        return await super().sign_digest(digest, algorithm)


async def test_a_stamp_in_a_worker_process_is_signed_here_and_verifies(workers: PdfWorkers, pki) -> None:
    signer, stamper = CountingSigner(pki.seal_key), pki.timestamper()
    asked: list[str] = []

    async def final() -> StampMetadata:
        asked.append("final")
        return _metadata(person_signature="c2lnbmVk")

    out = await workers.stamp(_job(pki, make_test_pdf(pages=3)), signer=signer, timestamper=stamper,
                              final_metadata=final)
    assert signer.calls == 1 and signer.pid == os.getpid()  # the key never left this process
    assert asked == ["final"]
    report = await verify_pdf(out, trust_roots=[pki.root_cert], crls=pki.crls)
    sig = report.signatures[0]
    assert len(report.signatures) == 1 and sig.intact and sig.valid and sig.trusted, report
    assert sig.level == "B-LT" and sig.timestamped and sig.coverage == "entire_file"
    assert sig.stamp is not None and sig.stamp.person_signature_b64 == "c2lnbmVk"  # the final one is bound


async def test_a_refusal_in_the_worker_or_from_a_port_is_the_same_error(workers: PdfWorkers, pki) -> None:
    pdf = make_test_pdf(pages=3)

    async def final() -> StampMetadata:
        return _metadata()

    refused = EsealError("the seal was revoked", code="seal_revoked", seal_id="s-1")
    refused.status = 409
    with pytest.raises(EsealError) as e:
        await workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key, fail=refused),
                            timestamper=pki.timestamper(), final_metadata=final)
    assert (e.value.status, e.value.code, e.value.extra) == (409, "seal_revoked", {"seal_id": "s-1"})
    stamped = await workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key),
                                  timestamper=pki.timestamper(), final_metadata=final)
    with pytest.raises(SignatureFieldExists) as planted:  # raised in the worker, same class here
        await workers.stamp(_job(pki, stamped), signer=CountingSigner(pki.seal_key),
                            timestamper=pki.timestamper(), final_metadata=final)
    assert planted.value.status == 409


async def test_a_stuck_seal_signature_hits_the_deadline(pki) -> None:
    pool = PdfWorkers(1, deadline_seconds=1.5, processes=1)
    try:
        async def final() -> StampMetadata:
            return _metadata()
        started = time.monotonic()
        with pytest.raises(StampingTimedOut) as e:
            await pool.stamp(_job(pki, make_test_pdf(pages=3)),
                             signer=CountingSigner(pki.seal_key, hang=True),
                             timestamper=pki.timestamper(), final_metadata=final)
        assert e.value.status == 504 and time.monotonic() - started < 10
    finally:
        pool.close()


async def test_a_dead_worker_fails_its_stamp_and_is_replaced(workers: PdfWorkers, pki) -> None:
    pdf = make_test_pdf(pages=3)
    gate = asyncio.Event()

    async def final() -> StampMetadata:
        await gate.wait()
        return _metadata()
    job = asyncio.create_task(workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key),
                                            timestamper=pki.timestamper(), final_metadata=final))
    await asyncio.sleep(0.5)
    pids = [w.process.pid for w in workers._processes._workers]  # noqa: SLF001 - the test kills it
    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(StampSigningError) as e:
        await asyncio.wait_for(job, 10)
    assert e.value.code == "signing_failed"

    async def at_once() -> StampMetadata:
        return _metadata()
    out = await workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key),
                              timestamper=pki.timestamper(), final_metadata=at_once)
    assert out.startswith(b"%PDF")
    assert [w.process.pid for w in workers._processes._workers] != pids  # noqa: SLF001


async def test_the_event_loop_stays_free_while_workers_stamp(workers: PdfWorkers, pki) -> None:
    """Four 10-page stamps at once: the loop's longest stall stays far below one stamp's CPU."""
    pdf = make_test_pdf(pages=10)

    async def final() -> StampMetadata:
        return _metadata()
    await workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key), timestamper=pki.timestamper(),
                        final_metadata=final)  # warm
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stalls.append(now - last - 0.005)
            last = now
    tick = asyncio.create_task(ticker())
    stamper = pki.timestamper()
    stamper_cache = await stamper.async_dummy_response("sha256")  # noqa: F841 - the TSA's size token, once
    started = time.perf_counter()
    await asyncio.gather(*(workers.stamp(_job(pki, pdf), signer=CountingSigner(pki.seal_key),
                                         timestamper=stamper, final_metadata=final) for _ in range(4)))
    elapsed = time.perf_counter() - started
    done.set()
    await tick
    # the TSA and the signer are in-process fakes here (a few ms each on this loop); pyHanko's
    # preparation of a 10-page document, which was ~40 ms a stamp on this loop's GIL, is not
    assert max(stalls) < max(0.25 * elapsed, 0.05), (max(stalls), elapsed)
