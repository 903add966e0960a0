"""Recent revocations (projection of SessionsRevoked), applied inline by identity.

The gateway keeps revocations in memory and, after a (re)connect, reloads the ones that
may still matter from ``GET /internal/revocations``: this table answers it cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.catalog import SessionsRevoked
from shared.eventstore import StoredEvent
from shared.projections import Projection


class RevocationsProjection(Projection):
    name = "revocations"
    tables = ("revocations",)

    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        rows = []
        for ev in events:
            if ev.type != SessionsRevoked.event_type:
                continue
            data = ev.decode()
            assert isinstance(data, SessionsRevoked)
            rows.append((ev.event_id, data.principal_id, data.session_id, data.reason,
                         data.revoked_before, ev.occurred_at))
        if rows:
            await conn.executemany(
                "INSERT INTO revocations (event_id, principal_id, session_id, reason, revoked_before,"
                " occurred_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING", rows)
