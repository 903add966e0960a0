"""Throwaway resources for the event-sourcing core benchmarks (eventstore, relay, projections):
a migrated database and an AMQP vhost of their own, dropped afterwards, and the event they append."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg

from shared.db import create_pool, drop_database, ensure_database, migrate

PG_URL = "postgresql://postgres@127.0.0.1:5432"


@contextlib.asynccontextmanager
async def throwaway_pool(max_size: int = 20) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh, migrated database ``eseal_bench_<random>``; dropped afterwards."""
    name = f"eseal_bench_{uuid.uuid4().hex[:10]}"
    await ensure_database(PG_URL, name)
    try:
        await migrate(f"{PG_URL}/{name}", None)
        pool = await create_pool(f"{PG_URL}/{name}", min_size=2, max_size=max_size)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await drop_database(PG_URL, name)


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)


@contextlib.contextmanager
def throwaway_vhost() -> Iterator[str]:
    """AMQP URL of a fresh vhost ``eseal_bench_<random>``; deleted afterwards."""
    vhost = f"eseal_bench_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost, check=False)


from shared.events import DomainEvent, event  # noqa: E402


@event("BenchThingAdded", producer="bench", stream_type="thing")
class BenchThingAdded(DomainEvent):
    """A typical small domain event (the envelope on the wire is ~350 bytes)."""

    thing_id: str
    amount: int
    note: str = ""
