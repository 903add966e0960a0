"""certs: the cost of the certificate-password KDF, and digest signing through the internal
signing API (HTTP, internal auth) against raw in-process ECDSA P-256 in the same run.

Figures:
- KDF (Argon2id, production parameters): ms per derivation (wrap = unwrap cost).
- raw ECDSA P-256 signing of a SHA-256 digest, one thread: signatures/s (the baseline).
- seal signatures over HTTP (``POST /internal/seal-certificates/{id}/signatures``), with
  concurrent clients: signatures/s, ratio to raw; p50/p99 latency.
- principal signatures over HTTP (``POST /internal/principals/{id}/signatures``): each one
  runs the KDF over the certificate password, so its rate is bounded by the KDF (reported
  apart, with the KDF-derived ceiling for the machine's cores).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import time
import uuid
from typing import Any

import aiohttp

from shared.internal import internal_token
from shared.settings import ServiceSettings

from .common import Report, median, percentile, running_platform

SECONDS = 5.0
CONCURRENCY = 16
PASSWORD = "Bench#2026pw"


def _kdf_ms(rounds: int = 15) -> float:
    from certs.adapters.crypto.keywrap import DEFAULT_KDF_PARAMS, MasterKey, make_aad, wrap_with_password

    master, aad, der = MasterKey.generate(), make_aad("user-key", "bench"), os.urandom(138)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        wrap_with_password(master, PASSWORD, der, aad, DEFAULT_KDF_PARAMS)
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


def _raw_ecdsa_rate(seconds: float = 2.0) -> float:
    from certs.adapters.crypto.signing import get_algorithm, sign_digest

    key = get_algorithm().generate_private_key()
    digest = hashlib.sha256(b"bench").digest()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(200):
            sign_digest(key, digest)
        done += 200
    return done / (time.perf_counter() - started)


class Internal:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.secret = ServiceSettings().internal_secret.get_secret_value()
        self._token, self._minted = "", 0.0

    def headers(self) -> dict[str, str]:
        if time.monotonic() - self._minted > 30:  # tokens live 60 s
            self._token = internal_token(self.secret, "seals", "certs")
            self._minted = time.monotonic()
        return {"Authorization": "Internal " + self._token}

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body, headers=self.headers()) as r:
            return r.status, await r.json(content_type=None)


async def _drive(call: Any, seconds: float, concurrency: int) -> tuple[float, list[float], int]:
    """Run ``call`` from ``concurrency`` workers for ``seconds``: (rate, latencies ms, errors)."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status = await call()
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


async def _activated_person(session: aiohttp.ClientSession, gateway: str) -> str | None:
    """A registered person with an active certificate (real identity, sandbox SMS)."""
    from tests.support import identities as ids

    body = ids.person()

    async def post(path: str, payload: Any, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with session.post(gateway + path, json=payload, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    status, registered = await post("/api/v1/persons", body)
    if status != 201:
        return None
    status, login = await post("/api/v1/sessions", {"method": "password", "role": "person",
                                                    "username": body["phone"],
                                                    "password": body["password"]})
    if status != 201:
        return None
    token = login["access_token"]
    status, _ = await post("/api/v1/certificate/activation-codes", None, token)
    if status != 202:
        return None
    async with session.get(gateway + "/api/v1/sandbox/sms", params={"phone": body["phone"]}) as r:
        text = (await r.json())["items"][0]["text"]
    code = re.search(r"验证码(\d{6})", text)
    async with session.get(gateway + "/api/v1/agreements") as r:
        accepted = [{"code": a["code"], "version": a["version"]} for a in (await r.json())["items"]]
    status, _ = await post("/api/v1/certificate", {
        "sms_code": code.group(1) if code else "", "password": PASSWORD,
        "password_confirm": PASSWORD, "accepted_agreements": accepted}, token)
    return str(registered["person_id"]) if status == 201 else None


async def run(report: Report) -> None:
    # figures from a shared machine mean little without its load: print it alongside
    print(f"  load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    kdf_ms = await asyncio.to_thread(_kdf_ms)
    report.add("KDF Argon2id t=2 m=32MiB p=1 (per password)", kdf_ms, "ms")
    async with running_platform() as (config, _):
        try:
            connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
            async with aiohttp.ClientSession(connector=connector) as session:
                certs = Internal(session, config.internal_url("certs"))
                seal_id = str(uuid.uuid4())
                status, issued = await certs.post("/internal/seal-certificates", {
                    "seal_id": seal_id, "enterprise_id": str(uuid.uuid4()),
                    "enterprise_name": "吉林省基准测试有限公司", "enterprise_uscc": "91220102MA00000000",
                    "seal_name": "吉林省基准测试有限公司公章", "seal_type": "official",
                    "seal_type_label": "公章"})
                assert status == 201, issued
                digest = {"digest_b64": base64.b64encode(hashlib.sha256(b"doc").digest()).decode()}

                async def seal_sign() -> int:
                    s, _ = await certs.post(f"/internal/seal-certificates/{seal_id}/signatures", digest)
                    return s

                await _drive(seal_sign, 1.0, CONCURRENCY)  # warm-up (pools, key cache)
                # the baseline right before and after, under the same load as the HTTP figure
                raw_before = await asyncio.to_thread(_raw_ecdsa_rate)
                rate, latencies, errors = await _drive(seal_sign, SECONDS, CONCURRENCY)
                raw = (raw_before + await asyncio.to_thread(_raw_ecdsa_rate)) / 2
                report.add("raw ECDSA P-256 digest signing (1 thread)", raw, "sig/s")
                assert errors == 0, f"{errors} seal signatures failed"
                report.add(f"seal signing via internal API ({CONCURRENCY} clients)", rate, "sig/s",
                           baseline_name="raw ECDSA", baseline_value=raw)
                report.add("seal signing latency p50", percentile(latencies, 50), "ms")
                report.add("seal signing latency p99", percentile(latencies, 99), "ms")
                one, _, _ = await _drive(seal_sign, 2.0, 1)
                report.add("seal signing via internal API (1 client)", one, "sig/s",
                           baseline_name="raw ECDSA", baseline_value=raw)

                people = [await _activated_person(session, config.url("gateway")) for _ in range(4)]
                if None in people:
                    print("  principal signing: skipped (registration/activation unavailable)")
                    return
                body = {**digest, "certificate_password": PASSWORD}
                turn = iter(range(10**9))

                def principal_sign(count: int) -> Any:
                    async def call() -> int:
                        who = people[next(turn) % count]
                        s, _ = await certs.post(f"/internal/principals/{who}/signatures", body)
                        return s
                    return call

                # one certificate: its password tries are serialised (row lock), one KDF at a time
                p_rate, p_lat, p_errors = await _drive(principal_sign(1), SECONDS, 4)
                assert p_errors == 0, f"{p_errors} principal signatures failed"
                report.add("principal signing, one certificate (KDF each)", p_rate, "sig/s",
                           baseline_name="1/KDF", baseline_value=1000 / kdf_ms)
                report.add("principal signing latency p50 (one certificate)",
                           percentile(p_lat, 50), "ms")
                cores = os.cpu_count() or 1
                m_rate, _, m_errors = await _drive(principal_sign(len(people)), SECONDS, 8)
                assert m_errors == 0, f"{m_errors} principal signatures failed"
                report.add(f"principal signing, {len(people)} certificates ({cores} cores)", m_rate,
                           "sig/s", baseline_name=f"{cores}/KDF", baseline_value=cores * 1000 / kdf_ms)
        finally:
            print(f"  load average at end: {os.getloadavg()[0]:.1f}", flush=True)
