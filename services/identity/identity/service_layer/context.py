"""What the identity command handlers need, wired once in bootstrap."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

import asyncpg

from shared.china_time import CHINA_TZ
from shared.events import DomainEvent
from shared.eventstore import EventStore
from shared.lockout import LockPolicy

from ..adapters import repository as repo
from ..adapters.face_provider import FaceProvider
from ..adapters.passwords import Argon2Passwords
from ..adapters.signing import TokenSigner
from ..config import IdentitySettings
from ..domain.events import login_stream
from ..domain.throttle import Window
from ..projections.revocations import RevocationsProjection


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Identity:
    pool: asyncpg.Pool
    store: EventStore
    passwords: Argon2Passwords
    signer: TokenSigner
    faces: FaceProvider
    settings: IdentitySettings
    person_key_secret: bytes
    clock: Callable[[], datetime] = utc_now
    revocations: RevocationsProjection = field(default_factory=RevocationsProjection)

    @property
    def lock_policy(self) -> LockPolicy:
        s = self.settings
        return LockPolicy(s.lock_max_failures, timedelta(minutes=s.lock_minutes))

    @property
    def username_window(self) -> Window:
        s = self.settings
        return Window(s.login_limit_per_username, s.login_username_window_seconds)

    @property
    def ip_window(self) -> Window:
        s = self.settings
        return Window(s.login_failure_limit_per_ip, s.login_ip_window_seconds)

    @property
    def face_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.face_check_ttl_seconds)

    def today(self) -> date:
        return self.clock().astimezone(CHINA_TZ).date()

    def person_key(self, id_number: str) -> str:
        """Keyed hash of an ID number: lets other services match people without the number."""
        return hmac.new(self.person_key_secret, id_number.encode(), hashlib.sha256).hexdigest()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, typed as the connection it stands for (a pool proxy)."""
        async with self.pool.acquire() as conn:
            yield cast(asyncpg.Connection, conn)

    async def append_login(self, conn: asyncpg.Connection, principal_id: uuid.UUID,
                           events: Sequence[DomainEvent]) -> None:
        """Append to ``login-<principal>``; the caller holds the account row lock."""
        version = await repo.login_version(conn, principal_id)
        stored = await self.store.append(conn, login_stream(principal_id), "login", version, events)
        await repo.set_login_version(conn, principal_id, version + len(events))
        await self.revocations.apply_batch(conn, stored)
