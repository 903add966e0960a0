"""The PostgreSQL event store.

Optimistic concurrency: ``PRIMARY KEY (stream_id, version)``; a stale writer's insert
collides and becomes ``ConcurrencyError``.

Global order without gaps: ``position`` is taken from a sequence *before* commit, so a
reader tailing by position could pass a row whose transaction commits late. Each row also
stores ``pg_current_xact_id()``; readers order by ``(xact_id, position)`` and only read rows
whose transaction id is below ``pg_snapshot_xmin(pg_current_snapshot())``, i.e. whose
transaction (and every earlier one) has finished. Nothing can later appear behind the cursor.
Appends should be the first write of their transaction so that per-stream order and
xact order agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from pydantic_core import to_jsonable_python

from .context import request_id
from .errors import ConcurrencyError
from .events import DomainEvent, Envelope, decode

NOTIFY_CHANNEL = "eseal_events"


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A place in the global order: (transaction id, position)."""

    xact_id: int = 0
    position: int = 0


@dataclass(frozen=True)
class StoredEvent:
    position: int
    xact_id: int
    event_id: uuid.UUID
    stream_id: str
    stream_type: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: datetime

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.xact_id, self.position)

    def decode(self) -> DomainEvent:
        return decode(self.type, self.schema_version, self.data)

    def envelope(self, producer: str) -> Envelope:
        return Envelope(
            event_id=self.event_id, type=self.type, schema_version=self.schema_version,
            stream_type=self.stream_type, stream_id=self.stream_id, stream_version=self.version,
            occurred_at=self.occurred_at, producer=producer,
            correlation_id=str(self.metadata.get("correlation_id", "")),
            causation_id=self.metadata.get("causation_id"), data=self.data,
        )


_COLUMNS = ("position, xact_id::text::bigint AS xact_id, event_id, stream_id, stream_type, version,"
            " type, schema_version, data, metadata, occurred_at")


def _row(r: asyncpg.Record) -> StoredEvent:
    return StoredEvent(**dict(r))


class EventStore:
    """Append/load/read-all over the ``events`` table of one service's database."""

    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def append(
        self,
        conn: asyncpg.Connection,
        stream_id: str | uuid.UUID,
        stream_type: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        """Append ``events`` after ``expected_version`` (0 for a new stream)."""
        if not events:
            return []
        meta = {"correlation_id": request_id.get(), **(metadata or {})}
        n = len(events)
        try:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"INSERT INTO events (event_id, stream_id, stream_type, version, type,"
                    f" schema_version, data, metadata)"
                    f" SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[],"
                    f" $6::int[], $7::jsonb[], $8::jsonb[])"
                    f" RETURNING {_COLUMNS}",
                    [uuid.uuid4() for _ in events], [str(stream_id)] * n, [stream_type] * n,
                    list(range(expected_version + 1, expected_version + n + 1)),
                    [e.event_type for e in events], [e.schema_version for e in events],
                    [to_jsonable_python(e.model_dump(mode="json")) for e in events], [meta] * n,
                )
                await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_pkey":
                raise ConcurrencyError(
                    f"stream {stream_id} is past version {expected_version}"
                ) from None
            raise
        return [_row(r) for r in rows]

    async def load(self, conn: asyncpg.Connection, stream_id: str | uuid.UUID,
                   after_version: int = 0) -> list[StoredEvent]:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version",
            str(stream_id), after_version,
        )
        return [_row(r) for r in rows]

    async def read_all(self, conn: asyncpg.Connection, after: Checkpoint,
                       limit: int = 1000) -> list[StoredEvent]:
        """Committed events after ``after`` in global order, never skipping a late commit."""
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM events"
            f" WHERE (xact_id, position) > ($1::text::xid8, $2)"
            f"   AND xact_id < pg_snapshot_xmin(pg_current_snapshot())"
            f" ORDER BY xact_id, position LIMIT $3",
            str(after.xact_id), after.position, limit,
        )
        return [_row(r) for r in rows]

    async def head(self, conn: asyncpg.Connection) -> Checkpoint:
        """The last event of the global order that readers may see now."""
        row = await conn.fetchrow(
            "SELECT xact_id::text::bigint AS x, position AS p FROM events"
            " WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY xact_id DESC, position DESC LIMIT 1"
        )
        return Checkpoint(row["x"], row["p"]) if row else Checkpoint()


async def load_checkpoint(conn: asyncpg.Connection, name: str) -> Checkpoint:
    row = await conn.fetchrow(
        "SELECT xact_id::text::bigint AS x, position AS p FROM checkpoints WHERE name = $1", name
    )
    return Checkpoint(row["x"], row["p"]) if row else Checkpoint()


async def save_checkpoint(conn: asyncpg.Connection, name: str, cp: Checkpoint) -> None:
    await conn.execute(
        "INSERT INTO checkpoints (name, xact_id, position, updated_at)"
        " VALUES ($1, $2::text::xid8, $3, now())"
        " ON CONFLICT (name) DO UPDATE SET xact_id = EXCLUDED.xact_id,"
        " position = EXCLUDED.position, updated_at = now()",
        name, str(cp.xact_id), cp.position,
    )
