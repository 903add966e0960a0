"""All SQL of the agents service: its streams (through the unit of work), the identity
elements and the agent list (``service_layer.ports.AgentRepository`` on PostgreSQL)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.events import DomainEvent
from shared.unit_of_work import Database, UnitOfWork

from ..domain import agent as rules
from ..domain.agent import Agent
from ..domain.errors import AgentExists
from ..service_layer.ports import ListRow

_LIST_COLUMNS = ("agent_id, name, id_type, id_number_masked, phone_masked, id_valid_from, id_valid_to,"
                 " id_long_term, valid_from, valid_to, can_manage, added_at")
# unique index of agent_elements -> the request field it protects
_CONFLICT_FIELDS = {"agent_elements_id_number": "id_number", "agent_elements_phone": "phone"}


class PgAgentRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.conn = uow.conn

    async def get(self, agent_id: uuid.UUID) -> Agent | None:
        return rules.fold(e.decode() for e in await self.uow.load(agent_id))

    async def append(self, agent_id: uuid.UUID, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        await self.uow.append(agent_id, "agent", expected_version, events)

    async def taken_field(self, enterprise_id: uuid.UUID, id_number: str, phone: str) -> str | None:
        field: str | None = await self.conn.fetchval(
            "SELECT CASE WHEN id_number = $2 THEN 'id_number' ELSE 'phone' END FROM agent_elements"
            " WHERE enterprise_id = $1 AND NOT removed AND (id_number = $2 OR phone = $3) LIMIT 1",
            enterprise_id, id_number, phone)
        return field

    async def insert_elements(self, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                              id_number: str, phone: str) -> None:
        try:
            await self.conn.execute("INSERT INTO agent_elements (agent_id, enterprise_id, id_number, phone)"
                                    " VALUES ($1, $2, $3, $4)", agent_id, enterprise_id, id_number, phone)
        except asyncpg.UniqueViolationError as exc:
            raise AgentExists(_CONFLICT_FIELDS.get(exc.constraint_name or "", "id_number")) from None

    async def release_elements(self, agent_id: uuid.UUID) -> None:
        await self.conn.execute("UPDATE agent_elements SET removed = true WHERE agent_id = $1", agent_id)

    async def list_row(self, agent_id: uuid.UUID) -> ListRow | None:
        row = await self.conn.fetchrow(f"SELECT {_LIST_COLUMNS} FROM agent_list"  # noqa: S608
                                       " WHERE agent_id = $1 AND removed_at IS NULL", agent_id)
        return dict(row) if row else None

    async def list_page(self, enterprise_id: uuid.UUID, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> list[ListRow]:
        if after is None:
            rows = await self.conn.fetch(
                f"SELECT {_LIST_COLUMNS} FROM agent_list WHERE enterprise_id = $1"  # noqa: S608
                " AND removed_at IS NULL ORDER BY added_at DESC, agent_id DESC LIMIT $2",
                enterprise_id, limit)
        else:
            rows = await self.conn.fetch(
                f"SELECT {_LIST_COLUMNS} FROM agent_list WHERE enterprise_id = $1"  # noqa: S608
                " AND removed_at IS NULL AND (added_at, agent_id) < ($3, $4)"
                " ORDER BY added_at DESC, agent_id DESC LIMIT $2",
                enterprise_id, limit, after[0], after[1])
        return [dict(r) for r in rows]


@dataclass(frozen=True)
class PgAgentStorage:
    """``AgentStorage`` over the service's database (the agent list is its inline projection)."""

    db: Database

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgAgentRepository]:
        async with self.db.transaction() as uow:
            yield PgAgentRepository(uow)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[PgAgentRepository]:
        async with self.db.connection() as uow:
            yield PgAgentRepository(uow)
