"""Append throughput of the event store, against raw asyncpg inserts in the same run.

- single events: one event per append, each its own transaction (fsync-bound), with one
  writer and with eight concurrent writers (whose commits can share WAL flushes);
- batches: 100 and 1,000 events per append.

The baseline is a plain asyncpg ``INSERT`` of the same rows (same column types) into a
table without constraints, indexes, ``RETURNING`` or ``NOTIFY``: what the server gives.
Each case alternates baseline and store for a few rounds and keeps each one's best round,
so that a busy machine (CI shares it) disturbs the ratio as little as possible.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from shared.eventstore import EventStore

from .common import Report
from .throwaway import BenchThingAdded, throwaway_pool

ROUNDS = 3
RAW_DDL = ("CREATE TABLE raw_events (event_id uuid, stream_id text, stream_type text, version int,"
           " type text, schema_version int, data jsonb, metadata jsonb)")
RAW_INSERT = ("INSERT INTO raw_events SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[],"
              " $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])")
CASES = (  # label, writers, appends per writer, events per append, notify
    ("single events, 1 writer", 1, 300, 1, True),
    ("single events, 8 writers", 8, 60, 1, True),
    ("single events, 8 writers, notify=False", 8, 60, 1, False),
    ("batches of 100, 1 writer", 1, 60, 100, True),
    ("batches of 1000, 1 writer", 1, 10, 1000, True),
)

Writer = Callable[[str, int, int], Awaitable[None]]


def _events(stream: str, n: int) -> list[BenchThingAdded]:
    return [BenchThingAdded(thing_id=stream, amount=i, note="x" * 40) for i in range(n)]


def store_writer(pool: asyncpg.Pool, store: EventStore) -> Writer:
    async def write(stream: str, appends: int, per: int) -> None:
        async with pool.acquire() as conn:
            for i in range(appends):
                await store.append(conn, stream, "thing", i * per, _events(stream, per))
    return write


def raw_writer(pool: asyncpg.Pool) -> Writer:
    async def write(stream: str, appends: int, per: int) -> None:
        async with pool.acquire() as conn:
            for i in range(appends):
                data = [json.loads(e.model_dump_json()) for e in _events(stream, per)]
                await conn.execute(RAW_INSERT, [uuid.uuid4() for _ in range(per)], [stream] * per,
                                   ["thing"] * per, list(range(i * per + 1, i * per + per + 1)),
                                   ["BenchThingAdded"] * per, [1] * per, data,
                                   [{"correlation_id": ""}] * per)
    return write


async def rate(write: Writer, writers: int, appends: int, per: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(write(f"s{uuid.uuid4().hex[:8]}", appends, per) for _ in range(writers)))
    return writers * appends * per / (time.perf_counter() - started)


async def run(report: Report) -> None:
    async with throwaway_pool() as pool:
        async with pool.acquire() as conn:
            await conn.execute(RAW_DDL)
        raw = raw_writer(pool)
        for label, writers, appends, per, notify in CASES:
            ours = store_writer(pool, EventStore("bench", notify=notify))
            await rate(raw, 1, 5, per)  # warm up
            await rate(ours, 1, 5, per)
            best_raw = best_ours = 0.0
            for _ in range(ROUNDS):
                best_raw = max(best_raw, await rate(raw, writers, appends, per))
                best_ours = max(best_ours, await rate(ours, writers, appends, per))
            report.add(f"append {label}", best_ours, "events/s",
                       baseline_name="raw asyncpg insert", baseline_value=best_raw)
        report.add("machine load average (1 min)", os.getloadavg()[0], "")
