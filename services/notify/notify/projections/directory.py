"""notify's directory: who belongs to which enterprise, which seals and grants exist, names.

Fed by other services' public events inside the consumer's transaction. Deliveries are
handled concurrently and retried, so they may arrive out of order: every versioned row keeps
the aggregate version of the event that last changed it, and an older event only fills in
what is still unknown (a name), never undoes a newer change. Removal and revocation are
final.

Enterprises, persons and agents are the shared agent directory (``shared.agent_directory``,
the same projection seals keeps); this module adds seals, grants and the queries.
"""

from __future__ import annotations

import uuid
from datetime import date

from shared.db import Conn

from ..domain import AgentEntry, GrantEntry, Names


async def remember_person(conn: Conn, person_id: uuid.UUID, name: str) -> None:
    """A name seen elsewhere (a grant) for a person not registered here yet."""
    if name:
        await conn.execute("INSERT INTO persons (person_id, name) VALUES ($1, $2)"
                           " ON CONFLICT (person_id) DO NOTHING", person_id, name)


async def record_seal(conn: Conn, *, seal_id: uuid.UUID, enterprise_id: uuid.UUID,
                      version: int, name: str | None = None, seal_type: str | None = None,
                      revoked: bool = False, correlation_id: str = "") -> None:
    await conn.execute(
        """
        INSERT INTO seals AS s (seal_id, enterprise_id, name, type, revoked, revoked_correlation,
                                version)
        VALUES ($1, $2, coalesce($3::text, ''), coalesce($4::text, ''), $5,
                CASE WHEN $5 THEN $6 ELSE '' END, $7)
        ON CONFLICT (seal_id) DO UPDATE SET
          name = CASE WHEN s.name = '' THEN EXCLUDED.name ELSE s.name END,
          type = CASE WHEN s.type = '' THEN EXCLUDED.type ELSE s.type END,
          revoked = s.revoked OR EXCLUDED.revoked,
          revoked_correlation = CASE WHEN EXCLUDED.revoked THEN EXCLUDED.revoked_correlation
                                     ELSE s.revoked_correlation END,
          version = greatest(s.version, EXCLUDED.version)
        """,
        seal_id, enterprise_id, name, seal_type, revoked, correlation_id, version)


async def record_grant(conn: Conn, *, grant_id: uuid.UUID, seal_id: uuid.UUID,
                       enterprise_id: uuid.UUID, person_id: uuid.UUID, version: int,
                       valid_from: date | None = None, valid_to: date | None = None,
                       revoked: bool = False, correlation_id: str = "") -> None:
    await conn.execute(
        """
        INSERT INTO grants AS g (grant_id, seal_id, enterprise_id, person_id, valid_from, valid_to,
                                 revoked, revoked_correlation, version)
        VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, CASE WHEN $7 THEN $8 ELSE '' END, $9)
        ON CONFLICT (grant_id) DO UPDATE SET
          valid_from = CASE WHEN EXCLUDED.version > g.version AND $5::date IS NOT NULL
                            THEN EXCLUDED.valid_from ELSE g.valid_from END,
          valid_to = CASE WHEN EXCLUDED.version > g.version AND $6::date IS NOT NULL
                          THEN EXCLUDED.valid_to ELSE g.valid_to END,
          revoked = g.revoked OR EXCLUDED.revoked,
          revoked_correlation = CASE WHEN EXCLUDED.revoked THEN EXCLUDED.revoked_correlation
                                     ELSE g.revoked_correlation END,
          version = greatest(g.version, EXCLUDED.version)
        """,
        grant_id, seal_id, enterprise_id, person_id, valid_from, valid_to, revoked, correlation_id,
        version)


# queries --------------------------------------------------------------------------------


async def agents_of(conn: Conn, enterprise_id: uuid.UUID) -> list[AgentEntry]:
    rows = await conn.fetch(
        "SELECT agent_id, can_manage, removed, valid_from, valid_to FROM agents"
        " WHERE enterprise_id = $1 AND NOT removed ORDER BY agent_id", enterprise_id)
    return [AgentEntry(**dict(r)) for r in rows]


async def grants_of(conn: Conn, seal_id: uuid.UUID) -> list[GrantEntry]:
    rows = await conn.fetch(
        "SELECT grant_id, person_id, revoked, revoked_correlation, valid_to FROM grants"
        " WHERE seal_id = $1 ORDER BY grant_id", seal_id)
    return [GrantEntry(**dict(r)) for r in rows]


async def names(conn: Conn, *, enterprise_id: uuid.UUID | None = None,
                seal_id: uuid.UUID | None = None, person_id: uuid.UUID | None = None) -> Names:
    row = await conn.fetchrow(
        "SELECT (SELECT name FROM enterprises WHERE enterprise_id = $1) AS enterprise,"
        "       (SELECT nullif(name, '') FROM seals WHERE seal_id = $2) AS seal,"
        "       (SELECT name FROM persons WHERE person_id = $3) AS person",
        enterprise_id, seal_id, person_id)
    assert row is not None
    return Names(enterprise=row["enterprise"], seal=row["seal"], person=row["person"])


async def seal_revocation_correlation(conn: Conn, seal_id: uuid.UUID) -> str | None:
    """The correlation id of the command that revoked the seal; None while it is not revoked."""
    row = await conn.fetchrow("SELECT revoked, revoked_correlation FROM seals WHERE seal_id = $1",
                              seal_id)
    if row is None or not row["revoked"]:
        return None
    return str(row["revoked_correlation"])
