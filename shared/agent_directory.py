"""The agent directory: enterprises, persons and agents as their owners' public events
describe them, projected into a service's own tables (seals and notify keep one each).

Tables (each service's migrations create them): ``enterprises (enterprise_id, name, uscc,
legal_representative_name)``, ``persons (person_id, name, id_number_masked)``, ``agents
(agent_id, enterprise_id, name, valid_from, valid_to, can_manage, removed, version)``.

Fed by a consumer, in one transaction with its idempotency row per event. Agents' events
may arrive out of order (deliveries run concurrently and are retried), so an agent row keeps
the stream version of the newest event that changed it: an older event only fills in what
is still unknown (a name, a date), never undoes a newer change; removal is final.
"""

from __future__ import annotations

import uuid
from datetime import date

from .catalog import AgentAdded, AgentRemoved, AgentUpdated, EnterpriseRegistered, PersonRegistered
from .consumer import Handler, handlers_for
from .db import Conn
from .events import DomainEvent, Envelope

__all__ = ["EVENTS", "directory_handlers", "project", "record_agent", "record_enterprise",
           "record_person"]

EVENTS = (EnterpriseRegistered, PersonRegistered, AgentAdded, AgentUpdated, AgentRemoved)


async def record_enterprise(conn: Conn, enterprise_id: uuid.UUID, name: str, uscc: str,
                            legal_representative_name: str) -> None:
    await conn.execute(
        "INSERT INTO enterprises (enterprise_id, name, uscc, legal_representative_name)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (enterprise_id) DO UPDATE SET name = EXCLUDED.name,"
        " uscc = EXCLUDED.uscc, legal_representative_name = EXCLUDED.legal_representative_name",
        enterprise_id, name, uscc, legal_representative_name)


async def record_person(conn: Conn, person_id: uuid.UUID, name: str,
                        id_number_masked: str = "") -> None:
    """A registered person's name (an empty masked id number never erases a known one)."""
    await conn.execute(
        "INSERT INTO persons (person_id, name, id_number_masked) VALUES ($1, $2, $3)"
        " ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name,"
        " id_number_masked = CASE WHEN EXCLUDED.id_number_masked <> ''"
        "   THEN EXCLUDED.id_number_masked ELSE persons.id_number_masked END",
        person_id, name, id_number_masked)


async def record_agent(conn: Conn, *, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                       version: int, name: str | None = None, valid_from: date | None = None,
                       valid_to: date | None = None, can_manage: bool | None = None,
                       removed: bool = False) -> None:
    """Fold one agent event in, whatever order deliveries come in: a field changes for an
    event newer than the row's version, or when it is still unknown; removal is final."""
    await conn.execute(
        """
        INSERT INTO agents AS a (agent_id, enterprise_id, name, valid_from, valid_to, can_manage,
                                 removed, version)
        VALUES ($1, $2, coalesce($3::text, ''), $4::date, $5::date, coalesce($6::boolean, false),
                $7, $8)
        ON CONFLICT (agent_id) DO UPDATE SET
          name = CASE WHEN EXCLUDED.name <> '' AND (a.name = '' OR EXCLUDED.version > a.version)
                      THEN EXCLUDED.name ELSE a.name END,
          valid_from = CASE WHEN $4::date IS NOT NULL
                             AND (a.valid_from IS NULL OR EXCLUDED.version > a.version)
                            THEN EXCLUDED.valid_from ELSE a.valid_from END,
          valid_to = CASE WHEN $5::date IS NOT NULL
                           AND (a.valid_to IS NULL OR EXCLUDED.version > a.version)
                          THEN EXCLUDED.valid_to ELSE a.valid_to END,
          can_manage = CASE WHEN $6::boolean IS NOT NULL AND EXCLUDED.version > a.version
                            THEN EXCLUDED.can_manage ELSE a.can_manage END,
          removed = a.removed OR EXCLUDED.removed,
          version = greatest(a.version, EXCLUDED.version)
        """,
        agent_id, enterprise_id, name, valid_from, valid_to, can_manage, removed, version)


async def project(conn: Conn, env: Envelope, ev: DomainEvent) -> None:
    """Fold one of ``EVENTS`` into the directory."""
    if isinstance(ev, EnterpriseRegistered):
        await record_enterprise(conn, ev.enterprise_id, ev.name, ev.uscc,
                                ev.legal_representative_name)
    elif isinstance(ev, PersonRegistered):
        await record_person(conn, ev.person_id, ev.name, ev.id_number_masked)
    elif isinstance(ev, AgentAdded):
        await record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                           version=env.stream_version, name=ev.name, valid_from=ev.valid_from,
                           valid_to=ev.valid_to, can_manage=ev.can_manage)
    elif isinstance(ev, AgentUpdated):
        await record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                           version=env.stream_version, valid_from=ev.valid_from,
                           valid_to=ev.valid_to, can_manage=ev.can_manage)
    elif isinstance(ev, AgentRemoved):
        await record_agent(conn, agent_id=ev.agent_id, enterprise_id=ev.enterprise_id,
                           version=env.stream_version, removed=True)
    else:
        raise TypeError(f"not a directory event: {type(ev).__name__}")


def directory_handlers() -> dict[str, Handler]:
    """Consumer handlers that only keep the directory (``project`` for each of ``EVENTS``)."""
    return handlers_for(*((event, project) for event in EVENTS))
