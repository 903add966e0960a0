"""Projection rebuild rate: drop and replay 100,000 events through ``shared.projections.rebuild``.

Three read models, each with a batched ``apply_batch`` (5,000 events per batch):

- ledger: one row per event, written with ``COPY`` (a list/usage-record read model);
- totals: one row per stream, the batch pre-aggregated and upserted with one ``unnest`` statement;
- totals (executemany): the same upsert, one parameter set per event (``executemany``).

The events are 100,000 ``BenchThingAdded`` in 1,000 streams, written in 20 transactions.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from shared.eventstore import EventStore, StoredEvent
from shared.projections import Projection, rebuild

from .common import Report
from .throwaway import throwaway_pool

EVENTS, STREAMS, TRANSACTIONS = 100_000, 1_000, 20
DDL = """
CREATE TABLE bench_ledger (event_id uuid PRIMARY KEY, stream_id text NOT NULL, version int NOT NULL,
                           amount int NOT NULL, occurred_at timestamptz NOT NULL);
CREATE TABLE bench_totals (stream_id text PRIMARY KEY, total bigint NOT NULL, events int NOT NULL,
                           last_version int NOT NULL);
CREATE TABLE bench_totals_em (LIKE bench_totals INCLUDING ALL);
"""
FILL = """
INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, metadata)
SELECT gen_random_uuid(), 'thing-' || (g % $3), 'thing', g / $3 + 1, 'BenchThingAdded', 1,
       jsonb_build_object('thing_id', 'thing-' || (g % $3), 'amount', g % 100, 'note', repeat('x', 40)),
       jsonb_build_object('correlation_id', md5(g::text))
FROM generate_series($1::int, $2::int - 1) AS g
"""
UPSERT = """
INSERT INTO {table} AS t (stream_id, total, events, last_version)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[])
ON CONFLICT (stream_id) DO UPDATE SET total = t.total + EXCLUDED.total,
    events = t.events + EXCLUDED.events, last_version = EXCLUDED.last_version
WHERE t.last_version < EXCLUDED.last_version
"""
UPSERT_ONE = """
INSERT INTO bench_totals_em AS t (stream_id, total, events, last_version) VALUES ($1, $2, 1, $3)
ON CONFLICT (stream_id) DO UPDATE SET total = t.total + EXCLUDED.total, events = t.events + 1,
    last_version = EXCLUDED.last_version
WHERE t.last_version < EXCLUDED.last_version
"""


class Ledger(Projection):
    name, tables = "bench_ledger", ("bench_ledger",)

    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        await conn.copy_records_to_table("bench_ledger", records=[
            (e.event_id, e.stream_id, e.version, e.data["amount"], e.occurred_at) for e in events])


class Totals(Projection):
    name, tables = "bench_totals", ("bench_totals",)

    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for e in events:
            t = totals[e.stream_id]
            t[0], t[1], t[2] = t[0] + e.data["amount"], t[1] + 1, e.version
        streams = list(totals)
        await conn.execute(UPSERT.format(table="bench_totals"), streams, [totals[s][0] for s in streams],
                           [totals[s][1] for s in streams], [totals[s][2] for s in streams])


class TotalsExecutemany(Projection):
    name, tables = "bench_totals_em", ("bench_totals_em",)

    async def apply(self, conn: asyncpg.Connection, event: StoredEvent) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        await conn.executemany(UPSERT_ONE, [(e.stream_id, e.data["amount"], e.version) for e in events])


async def _fill(pool: asyncpg.Pool) -> None:
    per = EVENTS // TRANSACTIONS
    async with pool.acquire() as conn:
        await conn.execute(DDL)
        for start in range(0, EVENTS, per):
            await conn.execute(FILL, start, start + per, STREAMS)
        await conn.execute("ANALYZE events")


async def run(report: Report) -> None:
    async with throwaway_pool() as pool:
        await _fill(pool)
        store = EventStore("bench")
        for projection in (Ledger(), Totals(), TotalsExecutemany()):
            result = await rebuild(pool, store, projection)
            assert result.events == EVENTS, result
            report.add(f"rebuild {projection.name} ({EVENTS:,} events)", result.rate, "events/s",
                       goal=">= 20,000 events/s")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT sum(total) FROM bench_totals") == \
                await conn.fetchval("SELECT sum(total) FROM bench_totals_em") == \
                await conn.fetchval("SELECT sum(amount) FROM bench_ledger")
    report.add("machine load average (1 min)", os.getloadavg()[0], "")
