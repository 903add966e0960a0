"""SQL of the agents service besides the event store: identity elements and the list."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

_LIST_COLUMNS = ("agent_id, name, id_type, id_number_masked, phone_masked, id_valid_from, id_valid_to,"
                 " id_long_term, valid_from, valid_to, can_manage, added_at")


async def taken_field(conn: asyncpg.Connection, enterprise_id: uuid.UUID, id_number: str,
                      phone: str) -> str | None:
    """Which element another current agent of the enterprise already has, if any."""
    field: str | None = await conn.fetchval(
        "SELECT CASE WHEN id_number = $2 THEN 'id_number' ELSE 'phone' END FROM agent_elements"
        " WHERE enterprise_id = $1 AND NOT removed AND (id_number = $2 OR phone = $3) LIMIT 1",
        enterprise_id, id_number, phone)
    return field


async def insert_elements(conn: asyncpg.Connection, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                          id_number: str, phone: str) -> None:
    await conn.execute("INSERT INTO agent_elements (agent_id, enterprise_id, id_number, phone)"
                       " VALUES ($1, $2, $3, $4)", agent_id, enterprise_id, id_number, phone)


async def release_elements(conn: asyncpg.Connection, agent_id: uuid.UUID) -> None:
    """A removed agent's ID number and phone may be used for a new agent."""
    await conn.execute("UPDATE agent_elements SET removed = true WHERE agent_id = $1", agent_id)


async def list_row(conn: asyncpg.Connection, agent_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_LIST_COLUMNS} FROM agent_list WHERE agent_id = $1"  # noqa: S608
                               " AND removed_at IS NULL", agent_id)


async def list_page(conn: asyncpg.Connection, enterprise_id: uuid.UUID, limit: int,
                    after: tuple[datetime, uuid.UUID] | None) -> list[asyncpg.Record]:
    """Newest first; ``after`` is the (added_at, agent_id) of the last row already shown."""
    if after is None:
        return await conn.fetch(
            f"SELECT {_LIST_COLUMNS} FROM agent_list WHERE enterprise_id = $1 AND removed_at IS NULL"  # noqa: S608
            " ORDER BY added_at DESC, agent_id DESC LIMIT $2", enterprise_id, limit)
    return await conn.fetch(
        f"SELECT {_LIST_COLUMNS} FROM agent_list WHERE enterprise_id = $1 AND removed_at IS NULL"  # noqa: S608
        " AND (added_at, agent_id) < ($3, $4) ORDER BY added_at DESC, agent_id DESC LIMIT $2",
        enterprise_id, limit, after[0], after[1])
