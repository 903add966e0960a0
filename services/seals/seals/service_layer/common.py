"""What every use case needs: its dependencies, the clock, who is acting, appends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import asyncpg

from shared import cursors
from shared.auth import Principal
from shared.china_time import china_today
from shared.db import Conn
from shared.errors import EsealError, PayloadTooLarge, ServiceUnavailable, ValidationFailed
from shared.events import DomainEvent, utcnow
from shared.eventstore import EventStore, StoredEvent
from shared.logging import get_logger

from ..adapters import repository as repo
from ..adapters.images import Images
from ..adapters.ports import CertificateAuthority, EnterpriseInfo, FaceTokens, PersonRegistry
from ..adapters.rendering import (
    FontMissing,
    ImageTooLarge,
    InvalidUscc,
    RenderError,
    UnknownSealType,
    UnsupportedCharacters,
)
from ..domain.access import AgentRecord, Operator, decide_operator
from ..projections.state import STATE

log = get_logger(__name__)


@dataclass
class Deps:
    """Dependencies of the use cases, wired once in bootstrap (fakes in tests)."""

    pool: asyncpg.Pool
    store: EventStore
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


async def operator(deps: Deps, principal: Principal, *, manage: bool) -> Operator:
    """Who acts for which enterprise, decided from the agents directory (domain.access).

    An agent the directory does not know yet (its AgentAdded event is in flight) is looked up
    at identity, which the agents service keeps in step synchronously; if that fails too, a
    read goes by the token and a change waits briefly for the event, then gets 503.
    """
    agent = None
    if principal.role == "agent":
        agent = await _agent(deps, principal.id)
        if agent is None:
            agent = await _agent_from_identity(deps, principal.id)
        if agent is None and manage:
            agent = await _wait_for_agent(deps, principal.id)
    return decide_operator(principal, agent, deps.today(), manage=manage)


async def _agent(deps: Deps, agent_id: uuid.UUID) -> AgentRecord | None:
    async with deps.pool.acquire() as conn:
        return await repo.agent(conn, agent_id)


async def _agent_from_identity(deps: Deps, agent_id: uuid.UUID) -> AgentRecord | None:
    try:
        return await deps.persons.agent(agent_id)
    except EsealError as err:
        log.warning("agent_lookup_failed", agent_id=str(agent_id), problem_code=err.code)
        return None


async def _wait_for_agent(deps: Deps, agent_id: uuid.UUID) -> AgentRecord | None:
    deadline = asyncio.get_running_loop().time() + deps.agent_sync_wait
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        agent = await _agent(deps, agent_id)
        if agent is not None:
            return agent
    return None


async def enterprise_info(deps: Deps, enterprise_id: uuid.UUID) -> EnterpriseInfo:
    """The enterprise's registered data: the directory, else identity (then remembered)."""
    async with deps.pool.acquire() as conn:
        info = await repo.enterprise(conn, enterprise_id)
    if info is not None:
        return info
    info = await deps.persons.enterprise(enterprise_id)
    if info is None:
        raise ServiceUnavailable("the enterprise's registration data is not available yet",
                                 code="enterprise_unknown", headers={"Retry-After": "1"})
    async with deps.pool.acquire() as conn:
        await repo.record_enterprise(conn, info)
    return info


async def append(deps: Deps, conn: Conn, stream_id: uuid.UUID, stream_type: str,
                 expected_version: int, events: Sequence[DomainEvent],
                 actor: uuid.UUID | None) -> list[StoredEvent]:
    """Append and fold into the state tables, in the caller's transaction."""
    metadata = {"actor_id": str(actor)} if actor else None
    stored = await deps.store.append(cast(asyncpg.Connection, conn), stream_id, stream_type,
                                     expected_version, events, metadata=metadata)
    for ev in stored:
        await STATE.apply(conn, ev)
    return stored


async def load(deps: Deps, conn: Conn, stream_id: uuid.UUID) -> list[DomainEvent]:
    return [e.decode() for e in await deps.store.load(cast(asyncpg.Connection, conn), stream_id)]


class FontUnavailable(EsealError):
    status, code, title = 500, "font_missing", "Font missing"


def image_problem(err: RenderError, field: str) -> EsealError:
    """A rendering refusal as problem+json: 413 for too large, else 422, naming the field."""
    if isinstance(err, UnknownSealType):
        field = "type"
    elif isinstance(err, InvalidUscc):
        field = "uscc"
    errors = [{"field": field, "message": err.message}]
    if isinstance(err, ImageTooLarge):
        return PayloadTooLarge(err.message, code=err.code, errors=errors)
    extra: dict[str, Any] = {}
    if isinstance(err, UnsupportedCharacters):
        extra["characters"] = [{"char": c, "codepoint": f"U+{ord(c):04X}"} for c in err.chars]
    return ValidationFailed(err.message, code=err.code, errors=errors, **extra)


async def rendered(work: Awaitable[bytes], field: str) -> bytes:
    try:
        return await work
    except RenderError as err:
        raise image_problem(err, field) from None
    except FontMissing as err:
        log.error("font_missing", font=err.font, package=err.package)
        raise FontUnavailable(str(err)) from None


def cursor_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a list continues; 422 ``invalid_cursor`` for anything this API did not give out."""
    if not cursor:
        return None
    at, key = cursors.decode(cursor, datetime, uuid.UUID)
    return at, key
