"""Password hashing with Argon2id (argon2-cffi), off the event loop.

Production parameters: t=3, m=19 MiB, p=1 — OWASP's Argon2id baseline (m ≥ 19 MiB) and
~55 ms per hash on this project's machines (bench/bench_identity.py measures it). Hashing
runs in worker threads (argon2 releases the GIL) and at most ``concurrency`` at once, which
bounds memory (concurrency × 19 MiB) and keeps the event loop answering other requests.
``ESEAL_TEST_FAST_KDF=1`` selects a 1 MiB / t=1 profile for tests; production refuses it.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class KdfParams:
    time_cost: int
    memory_kib: int
    parallelism: int


PRODUCTION_PARAMS = KdfParams(time_cost=3, memory_kib=19 * 1024, parallelism=1)
FAST_TEST_PARAMS = KdfParams(time_cost=1, memory_kib=1024, parallelism=1)


class Argon2Passwords:
    def __init__(self, params: KdfParams = PRODUCTION_PARAMS, concurrency: int | None = None) -> None:
        self.params = params
        self._hasher = PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib,
                                      parallelism=params.parallelism)
        self._slots = asyncio.Semaphore(concurrency or max(2, os.cpu_count() or 2))
        # Verified when the username is unknown, so that the answer takes as long either way.
        self._decoy = self._hasher.hash("decoy-password-never-used")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; a ``None`` hash still costs one verification."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
