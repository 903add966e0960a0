"""Batches (issue 15): 20 ten-page PDFs through the gateway against 20 raw pyHanko signings.

- **gateway**: ``POST /api/v1/stamp-batches`` (20 PDFs of 10 pages, one seal each at page 5),
  ``POST /api/v1/stamp-batches/scans`` and ``POST /api/v1/stamp-batches/{id}/stamp`` with one
  certificate password: the relying system's upload and every request's checks, the scan,
  the ONE certs call (one Argon2id KDF) that signs the 20 authorizations, then per document
  the claim, the seal's PAdES B-LT signature from seals/certs, the platform TSA, the
  recheck and the commit.
- **raw**: the same 20 documents signed in this process by pyHanko (``raw_stamp_in_process``:
  local key, local TSA, the same B-LT validation data), plus ONE Argon2id derivation at the
  production parameters (``DEFAULT_KDF_PARAMS``): what a batch cannot do without, since the
  person's key is unlocked once per batch.

Measured alternately in one run (1 warm-up, ``SAMPLES`` samples each); the goal is the
gateway within 1.5× raw.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import aiohttp
from stamping.adapters.pdf import offline_validation_context, raw_stamp_in_process

from devstack.stack import StackConfig
from tests.support.api import Api
from tests.support.pdf_fixtures import build_test_pki, make_test_pdf

from .bench_stamping import CERT_PASSWORD, PAGE, World, X, Y, _world
from .common import Report, running_platform

DOCUMENTS = 20
SAMPLES = 3


async def run(report: Report) -> None:
    async with running_platform(rate_limit_scale=1000) as (config, _):
        await _bench(report, config)


async def _bench(report: Report, config: StackConfig) -> None:
    api = Api(config.url("gateway"))
    try:
        w = await _world(api, config, 1)
        pdfs = [make_test_pdf(pages=10) for _ in range(DOCUMENTS)]
        pki = build_test_pki()
        timestamper = pki.timestamper()
        await _raw_batch(pdfs, w.image, pki, timestamper)  # warm up both paths
        await _gateway_batch(w, pdfs)
        raw, gateway, stamp_only = [], [], []
        phases: dict[str, list[float]] = {}
        for _ in range(SAMPLES):  # alternate, so both see the same machine
            raw.append(await _raw_batch(pdfs, w.image, pki, timestamper))
            timings = await _gateway_batch(w, pdfs)
            gateway.append(sum(timings.values()))
            stamp_only.append(timings["stamp"])
            for name, value in timings.items():
                phases.setdefault(name, []).append(value)
            await asyncio.sleep(1.0)  # the platform's after-stamp work settles
    finally:
        await api.close()
    raw_p50 = statistics.median(raw)
    report.add(f"raw: {DOCUMENTS} pyHanko B-LT signings + 1 KDF p50", raw_p50, "ms")
    report.add("  raw: one Argon2id KDF (production) p50", statistics.median(_kdf_times), "ms")
    report.add(f"batch of {DOCUMENTS} via gateway: create+scan+stamp p50",
               statistics.median(gateway), "ms", baseline_name="raw", baseline_value=raw_p50,
               goal="<= 1.5x raw")
    report.add("  batch stamp call alone p50", statistics.median(stamp_only), "ms",
               baseline_name="raw", baseline_value=raw_p50)
    for name in ("create", "scan"):
        report.add(f"  batch {name} call p50", statistics.median(phases[name]), "ms")
    report.add("  per document, stamp call p50", statistics.median(stamp_only) / DOCUMENTS, "ms")


_kdf_times: list[float] = []


def _kdf_once() -> float:
    from certs.adapters.crypto.keywrap import (  # noqa: PLC0415 - certs' own code, only here
        DEFAULT_KDF_PARAMS,
        MasterKey,
        make_aad,
        wrap_with_password,
    )

    master, aad, der = MasterKey.generate(), make_aad("user-key", "bench"), os.urandom(138)
    started = time.perf_counter()
    wrap_with_password(master, CERT_PASSWORD, der, aad, DEFAULT_KDF_PARAMS)  # wrap = unwrap cost
    return (time.perf_counter() - started) * 1000


async def _raw_batch(pdfs: list[bytes], image: bytes, pki: Any, timestamper: Any) -> float:
    vc = offline_validation_context([pki.root_cert], crls=pki.crls,
                                    other_certs=[pki.issuing_cert, pki.tsa_cert])
    started = time.perf_counter()
    kdf = _kdf_once()
    for pdf in pdfs:
        await raw_stamp_in_process(pdf, image, pki.seal_key, pki.chain, timestamper, page=PAGE,
                                   x=X, y=Y, validation_context=vc)
    _kdf_times.append(kdf)
    return (time.perf_counter() - started) * 1000


async def _gateway_batch(w: World, pdfs: list[bytes]) -> dict[str, float]:
    person_token = w.persons[0][1]
    timings: dict[str, float] = {}
    form = aiohttp.FormData()
    form.add_field("items", json.dumps([{"title": f"批量性能测试{i + 1}", "page": PAGE, "x": X, "y": Y}
                                        for i in range(len(pdfs))], ensure_ascii=False))
    for i, pdf in enumerate(pdfs):
        form.add_field(f"documents[{i}]", pdf, filename=f"{i}.pdf", content_type="application/pdf")
    started = time.perf_counter()
    created = await w.api.post("/api/v1/stamp-batches", token=w.client_token, data=form)
    timings["create"] = (time.perf_counter() - started) * 1000
    assert created.status == 201, created
    started = time.perf_counter()
    scanned = await w.api.post("/api/v1/stamp-batches/scans", token=person_token,
                               json={"qr_payload": created.json["qr_payload"]})
    timings["scan"] = (time.perf_counter() - started) * 1000
    assert scanned.status == 200, scanned
    started = time.perf_counter()
    stamped = await w.api.post(f"/api/v1/stamp-batches/{created.json['batch_id']}/stamp",
                               token=person_token, json={
                                   "enterprise_id": w.seal["enterprise_id"],
                                   "seal_id": w.seal["seal_id"],
                                   "certificate_password": CERT_PASSWORD})
    timings["stamp"] = (time.perf_counter() - started) * 1000
    assert stamped.status == 200 and stamped.json["status"] == "stamped", stamped
    return timings
