"""The PostgreSQL event store.

Optimistic concurrency: ``PRIMARY KEY (stream_id, version)``; a stale writer's insert
collides and becomes ``ConcurrencyError``.

Global order without gaps: ``position`` is taken from a sequence *before* commit, so a
reader tailing by position could pass a row whose transaction commits late. Each row also
stores ``pg_current_xact_id()``; readers order by ``(xact_id, position)`` and only read rows
whose transaction id is below a *horizon*: the oldest transaction that was still running
when the reading statement took its snapshot. Every row below the horizon is committed (or
rolled back) and visible, so nothing can later appear behind the cursor.

The horizon is ``pg_snapshot_xmin(pg_current_snapshot())`` narrowed to transactions that
may append events here: transaction ids are cluster-wide, and a long transaction in another
service's database (which can never write our ``events`` table) must not stall our relay.
A running xid is ignored only when ``pg_stat_activity`` shows it belongs to another
database, or to a session that declared it will not append events (``application_name`` =
``NO_EVENT_WRITES``, set by ``projections.rebuild`` for its long transaction). An xid that
is unknown there (finished meanwhile, prepared, hidden by permissions) holds the horizon.

Appends should be the first write of their transaction so that per-stream order and
xact order agree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import chain
from typing import Any

import asyncpg
from pydantic_core import to_jsonable_python

from . import tracing
from .context import request_id
from .db import Conn as Conn  # re-exported: the event store's callers name it from here too
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
            traceparent=self.metadata.get("traceparent"),
        )


# ``SET LOCAL application_name`` to this in a transaction that appends no events (and must
# not hold back the relay while it runs long).
NO_EVENT_WRITES = "eseal:no-event-writes"
# The gap-safe horizon of the current statement's snapshot (see the module docstring):
# the oldest running transaction that may append to this database's events, else ``xmax``.
HORIZON_OF_OTHERS = f"""(
    SELECT COALESCE(
        (SELECT min(x) FROM pg_snapshot_xip(s.snap) AS x
          WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                             WHERE a.backend_xid = x::xid
                               AND (a.datname <> current_database()
                                    OR a.application_name = '{NO_EVENT_WRITES}'))),
        pg_snapshot_xmax(s.snap))
    FROM (SELECT pg_current_snapshot() AS snap) AS s
)"""  # noqa: S608 - a constant
# Our own transaction (if it has an id) bounds it too, as ``pg_snapshot_xmin`` would: its
# rows are not committed yet.
_HORIZON = f"""LEAST({HORIZON_OF_OTHERS},
    COALESCE(pg_current_xact_id_if_assigned(), pg_snapshot_xmax(pg_current_snapshot())))"""

# Same order as StoredEvent's fields. data/metadata come as text and are decoded per batch
# (one json.loads for a whole page is several times faster than one per value).
_COLUMNS = ("position, xact_id::text::bigint AS xact_id, event_id, stream_id, stream_type, version,"
            " type, schema_version, data::text AS data, metadata::text AS metadata, occurred_at")
_FIELDS = tuple(f.name for f in fields(StoredEvent))
# (Only constants are interpolated below: the S608 warnings are about user input.)
_LOAD = f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version"  # noqa: S608
# ORDER BY names the table's columns: the output column xact_id is a bigint cast, and
# ordering by it would sort every row after the cursor instead of walking the index.
_READ_ALL = (f"SELECT {_COLUMNS} FROM events WHERE (xact_id, position) > ($1::text::xid8, $2)"  # noqa: S608
             f" AND xact_id < {_HORIZON} ORDER BY events.xact_id, events.position LIMIT $3")
_REPLAY = (f"SELECT {_COLUMNS} FROM events WHERE (xact_id, position) > ($1::text::xid8, $2)"  # noqa: S608
           " ORDER BY events.xact_id, events.position LIMIT $3")
_HEAD = (f"SELECT xact_id::text::bigint AS x, position AS p FROM events WHERE xact_id < {_HORIZON}"  # noqa: S608
         " ORDER BY xact_id DESC, position DESC LIMIT 1")
_HORIZON_NOW = f"SELECT {_HORIZON}::text::bigint"


# Insert a batch for one stream, only if the stream has reached the expected version ($9),
# and (``_APPEND``) wake the relays: NOTIFY is delivered at commit, and not at all on rollback.
_INSERT = """
WITH ins AS (
    INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, metadata)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[],
                         $7::jsonb[], $8::jsonb[])
    WHERE $9::int = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $10 AND version = $9::int)
    RETURNING version, position, xact_id, occurred_at
)
SELECT ins.version, ins.position, ins.xact_id::text::bigint AS xact_id, ins.occurred_at
"""
_APPEND = _INSERT + "FROM ins, LATERAL (SELECT pg_notify($11, '')) AS wake"
_APPEND_QUIET = _INSERT + "FROM ins WHERE $11::text IS NOT NULL"  # same parameters, no NOTIFY


def _rows(records: Sequence[asyncpg.Record]) -> list[StoredEvent]:
    """StoredEvents from ``_COLUMNS`` rows: JSON decoded in one call, no per-field setattr.

    (Replays decode hundreds of thousands of rows; this is ~3x cheaper than
    ``StoredEvent(**dict(row))`` with the pool's per-value JSON codec.)
    """
    if not records:
        return []
    blobs = json.loads("[" + ",".join(chain.from_iterable((r[8], r[9]) for r in records)) + "]")
    events = []
    new = object.__new__
    for i, r in enumerate(records):
        ev = new(StoredEvent)  # frozen dataclass: filled once here, immutable afterwards
        ev.__dict__.update(zip(_FIELDS, (*r[:8], blobs[2 * i], blobs[2 * i + 1], r[10]), strict=True))
        events.append(ev)
    return events


class EventStore:
    """Append/load/read-all over the ``events`` table of one service's database.

    ``notify``: each append sends ``NOTIFY eseal_events`` so that relays wake at once
    (commit-to-publish in milliseconds). PostgreSQL serializes the commits of notifying
    transactions (a cluster-wide lock held through the commit's WAL flush), so concurrent
    writers lose group commit; where append throughput matters more than latency, pass
    ``notify=False`` and let relays poll (``Relay(poll_interval=...)``).
    """

    def __init__(self, producer: str, *, notify: bool = True) -> None:
        self.producer = producer
        self.notify = notify

    async def append(
        self,
        conn: Conn,
        stream_id: str | uuid.UUID,
        stream_type: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        """Append ``events`` after ``expected_version`` (0 for a new stream).

        Raises ``ConcurrencyError`` when the stream is not exactly at ``expected_version``:
        a stale writer collides on the primary key; a writer claiming a version the stream
        has not reached inserts nothing (the guard in ``_APPEND``), so streams have no holes.
        One statement (insert + NOTIFY): atomic on its own, one round trip. Inside the
        command's transaction, a ``ConcurrencyError`` from a collision aborts that
        transaction like any failed statement; roll it back (``async with`` does).
        """
        if not events:
            return []
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        stream, n = str(stream_id), len(events)
        ids = [uuid.uuid4() for _ in events]
        versions = list(range(expected_version + 1, expected_version + n + 1))
        data = [to_jsonable_python(e.model_dump(mode="json")) for e in events]
        meta: dict[str, Any] = {"correlation_id": request_id.get()}
        if traceparent := tracing.current_traceparent():  # the command's span (None when off)
            meta["traceparent"] = traceparent
        meta = to_jsonable_python({**meta, **(metadata or {})})
        try:
            rows = await conn.fetch(
                _APPEND if self.notify else _APPEND_QUIET, ids, [stream] * n, [stream_type] * n, versions,
                [e.event_type for e in events], [e.schema_version for e in events], data, [meta] * n,
                expected_version, stream, NOTIFY_CHANNEL,
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_pkey":
                raise ConcurrencyError(f"stream {stream} is past version {expected_version}") from None
            raise
        if len(rows) != n:
            raise ConcurrencyError(f"stream {stream} has not reached version {expected_version}")
        written = {r["version"]: r for r in rows}
        return [
            StoredEvent(position=written[v]["position"], xact_id=written[v]["xact_id"], event_id=i,
                        stream_id=stream, stream_type=stream_type, version=v, type=e.event_type,
                        schema_version=e.schema_version, data=d, metadata=dict(meta),
                        occurred_at=written[v]["occurred_at"])
            for i, v, e, d in zip(ids, versions, events, data, strict=True)
        ]

    async def load(self, conn: Conn, stream_id: str | uuid.UUID,
                   after_version: int = 0) -> list[StoredEvent]:
        rows = await conn.fetch(_LOAD, str(stream_id), after_version)
        return _rows(rows)

    async def read_all(self, conn: Conn, after: Checkpoint,
                       limit: int = 1000) -> list[StoredEvent]:
        """Committed events after ``after`` in global order, never skipping a late commit.

        Stops before the oldest transaction of this database that is still running: a
        reader that checkpoints what it got can never miss a row that commits later.
        """
        rows = await conn.fetch(_READ_ALL, str(after.xact_id), after.position, limit)
        return _rows(rows)

    async def replay(self, conn: Conn, after: Checkpoint,
                     limit: int = 1000) -> list[StoredEvent]:
        """Every event visible to the caller's snapshot after ``after``, in global order.

        Unlike ``read_all`` this does not stop at running transactions. Use it inside a
        ``REPEATABLE READ`` transaction that is consistent by other means (``rebuild`` locks
        the projection's tables, so writers still running apply their events themselves).
        """
        rows = await conn.fetch(_REPLAY, str(after.xact_id), after.position, limit)
        return _rows(rows)

    async def head(self, conn: Conn) -> Checkpoint:
        """The last event of the global order that readers may see now."""
        row = await conn.fetchrow(_HEAD)
        return Checkpoint(row["x"], row["p"]) if row else Checkpoint()

    async def horizon(self, conn: Conn) -> int:
        """The transaction id below which every event is committed and visible now."""
        return int(await conn.fetchval(_HORIZON_NOW))


async def load_checkpoint(conn: Conn, name: str) -> Checkpoint:
    row = await conn.fetchrow(
        "SELECT xact_id::text::bigint AS x, position AS p FROM checkpoints WHERE name = $1", name
    )
    return Checkpoint(row["x"], row["p"]) if row else Checkpoint()


async def save_checkpoint(conn: Conn, name: str, cp: Checkpoint) -> None:
    await conn.execute(
        "INSERT INTO checkpoints (name, xact_id, position, updated_at)"
        " VALUES ($1, $2::text::xid8, $3, now())"
        " ON CONFLICT (name) DO UPDATE SET xact_id = EXCLUDED.xact_id,"
        " position = EXCLUDED.position, updated_at = now()",
        name, str(cp.xact_id), cp.position,
    )
