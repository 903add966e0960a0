"""identity: password hashing cost, login rate, and GET /me through the gateway vs direct.

* ``argon2id hash`` / ``verify``: the production parameters (t=3, m=19 MiB, p=1), in this
  process, one at a time: the price of one login.
* ``password login rate``: ``POST /api/v1/sessions`` through the gateway, 16 concurrent
  clients, with the production KDF (the bench platform does not set ESEAL_TEST_FAST_KDF);
  spread over many users so that the per-username rate limit is not what is measured.
* ``GET /me``: the same authenticated request through the gateway and straight to identity,
  in one run, alternating rounds; goal: the gateway keeps at least half the direct rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
from identity.adapters.passwords import PRODUCTION_PARAMS, Argon2Passwords

from tests.support import identities as ids

from .common import Report, median, running_platform

USERS = 80
LOGIN_SECONDS = 8.0
ME_SECONDS = 4.0
CONCURRENCY = 16


async def _hashing(report: Report) -> None:
    hasher = Argon2Passwords(PRODUCTION_PARAMS, concurrency=1)
    hashes, verifies = [], []
    stored = await hasher.hash("Warmup123!")
    for i in range(20):
        started = time.perf_counter()
        stored = await hasher.hash(f"Secret{i:04d}!")
        hashes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        assert await hasher.verify(stored, f"Secret{i:04d}!")
        verifies.append((time.perf_counter() - started) * 1000)
    report.add("argon2id hash (t=3, m=19 MiB, p=1)", median(hashes), "ms", goal="~50 ms")
    report.add("argon2id verify", median(verifies), "ms")


async def _rate(seconds: float, call: Callable[[int], Awaitable[bool]]) -> float:
    """Successful calls per second of ``CONCURRENCY`` workers for ``seconds``."""
    deadline = time.monotonic() + seconds
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while time.monotonic() < deadline:
            if await call(i):
                done += 1
            i += CONCURRENCY

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    return done / (time.monotonic() - started)


async def _register(session: aiohttp.ClientSession, base: str) -> list[dict[str, str]]:
    users = [ids.person() for _ in range(USERS)]
    sem = asyncio.Semaphore(8)

    async def one(body: dict[str, str]) -> None:
        async with sem, session.post(base + "/api/v1/persons", json=body) as r:
            assert r.status == 201, await r.text()

    await asyncio.gather(*(one(u) for u in users))
    return users


async def _logins(report: Report, session: aiohttp.ClientSession, base: str) -> str:
    users = await _register(session, base)
    failures = 0

    async def login(i: int) -> bool:
        nonlocal failures
        u = users[i % len(users)]
        body = {"method": "password", "role": "person", "username": u["phone"], "password": u["password"]}
        async with session.post(base + "/api/v1/sessions", json=body) as r:
            await r.read()
            failures += r.status != 201
            return r.status == 201

    rate = await _rate(LOGIN_SECONDS, login)
    report.add("password login via gateway (production KDF)", rate, "logins/s",
               goal=f"bounded by Argon2id on {CONCURRENCY} clients; failures={failures}")
    async with session.post(base + "/api/v1/sessions", json={
            "method": "password", "role": "person", "username": users[0]["phone"],
            "password": users[0]["password"]}) as r:
        return str((await r.json())["access_token"])


async def _me(report: Report, session: aiohttp.ClientSession, gateway: str, identity: str,
              token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    def getter(base: str) -> Callable[[int], Awaitable[bool]]:
        async def get(_: int) -> bool:
            async with session.get(base + "/api/v1/me", headers=headers) as r:
                await r.read()
                return r.status == 200
        return get

    await _rate(1.0, getter(gateway))  # warm up both paths' connections and caches
    await _rate(1.0, getter(identity))
    direct, via = [], []
    for _ in range(2):
        direct.append(await _rate(ME_SECONDS, getter(identity)))
        via.append(await _rate(ME_SECONDS, getter(gateway)))
    report.add("GET /me straight to identity", max(direct), "req/s")
    report.add("GET /me through the gateway", max(via), "req/s", baseline_name="direct",
               baseline_value=max(direct), goal="≥ 0.5× direct")


async def run(report: Report) -> None:
    await _hashing(report)
    # The gateway's per-client limiter would measure itself (every request comes from
    # loopback): rate_limit_scale lifts it.
    async with running_platform(rate_limit_scale=100000) as (config, _):
        gateway, identity = config.url("gateway"), config.url("identity")
        connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
        async with aiohttp.ClientSession(connector=connector) as session:
            token = await _logins(report, session, gateway)
            await _me(report, session, gateway, identity, token)
