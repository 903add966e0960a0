"""What every use case works with: the context (dependencies, the storage, the clock,
background work) and list cursors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared import cursors
from shared.china_time import china_today
from shared.events import utcnow

from ..adapters.images import Images
from .ports import CertificateAuthority, FaceTokens, PersonRegistry, SealStorage


@dataclass
class Seals:
    """Dependencies of the use cases, wired once in bootstrap (fakes in tests)."""

    storage: SealStorage  # one unit of work per command (adapters.repository.PgSealStorage)
    face: FaceTokens
    persons: PersonRegistry
    ca: CertificateAuthority
    images: Images
    clock: Callable[[], datetime] = utcnow
    # How long a change by an agent waits for its AgentAdded event (see domain.access).
    agent_sync_wait: float = 3.0
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return china_today(self.clock())

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run follow-up work without making the caller wait (kept referenced until done)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def cursor_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a list continues; 422 ``invalid_cursor`` for anything this API did not give out."""
    if not cursor:
        return None
    at, key = cursors.decode(cursor, datetime, uuid.UUID)
    return at, key
