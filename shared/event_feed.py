"""The public event feed: every producer serves its public events after a position.

``GET /internal/events?after=<xact>.<position>&types=A,B&limit=N`` (internal listener,
internal auth) answers ``{"items": [{"position": "<xact>.<position>", "envelope": {...}}],
"next": "<xact>.<position>"}``: the producer's committed public events after ``after`` in its
global order (the relay's order, ``EventStore.read_all``: gap-safe), each shaped exactly as
the relay publishes it (``StoredEvent.envelope``). ``next`` is where to ask next; it may lie
beyond the last item when events of other types were skipped. notify merges the producers'
feeds into ``GET /api/v1/events`` for subscribers (docs/EVENTS.md, "Catch-up").

A *composite position* names a place in every producer's order at once:
``identity:812.40,seals:903.77`` (producer, transaction id, position; producers absent are at
the beginning). ``format_position``/``parse_position`` convert it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
from aiohttp import web

from . import catalog  # noqa: F401 - registers the public events
from .errors import ValidationFailed
from .events import registered_events
from .eventstore import Checkpoint, EventStore, StoredEvent
from .internal import require_internal
from .relay import is_public

FEED_PATH = "/internal/events"
MAX_LIMIT = 1000
_SCAN_BATCH = 1000
_SCAN_BATCHES = 20  # at most this many batches read per call: a sparse filter answers early
_CHECKPOINT = re.compile(r"^(\d{1,20})\.(\d{1,20})$")
_PRODUCER = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,79}$")

Position = dict[str, Checkpoint]


def public_types() -> dict[str, str]:
    """Each public event type of the catalogue → its producer."""
    return {name: cls.producer for name, cls in sorted(registered_events().items())
            if cls.public and cls.__module__ == catalog.__name__}


def producers() -> list[str]:
    return sorted(set(public_types().values()))


def format_checkpoint(cp: Checkpoint) -> str:
    return f"{cp.xact_id}.{cp.position}"


def parse_checkpoint(text: str, field: str = "after") -> Checkpoint:
    if text in ("", "0"):
        return Checkpoint()
    m = _CHECKPOINT.match(text)
    if m is None:
        raise ValidationFailed.field(field, "expected <transaction>.<position>")
    return Checkpoint(int(m[1]), int(m[2]))


def format_position(position: Position) -> str:
    return ",".join(f"{p}:{format_checkpoint(cp)}" for p, cp in sorted(position.items())
                    if cp != Checkpoint())


def parse_position(text: str | None, field: str = "after") -> Position:
    """A composite position (see the module docstring); empty or ``0`` is the beginning."""
    position: Position = {}
    if not text or text == "0":
        return position
    for part in text.split(","):
        producer, sep, checkpoint = part.partition(":")
        if not sep or not _PRODUCER.match(producer) or producer in position:
            raise ValidationFailed.field(field, "expected producer:<transaction>.<position>,…")
        position[producer] = parse_checkpoint(checkpoint, field)
    return position


def parse_types(text: str | None, field: str = "types") -> list[str]:
    """A comma-separated list of public event types (empty: none given)."""
    names = [t.strip() for t in (text or "").split(",") if t.strip()]
    known = public_types()
    unknown = [t for t in names if not _TYPE.match(t) or t not in known]
    if unknown:
        raise ValidationFailed.field(field, f"unknown event types {', '.join(unknown)[:200]}")
    return sorted(set(names))


async def read_public(store: EventStore, conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
                      after: Checkpoint, types: Iterable[str], limit: int
                      ) -> tuple[list[StoredEvent], Checkpoint]:
    """Up to ``limit`` public events of ``types`` after ``after``, and where to read next."""
    wanted = set(types)
    found: list[StoredEvent] = []
    cursor = after
    for _ in range(_SCAN_BATCHES):
        batch = await store.read_all(conn, cursor, _SCAN_BATCH)
        for ev in batch:
            if is_public(ev) and ev.type in wanted:
                found.append(ev)
                if len(found) == limit:
                    return found, ev.checkpoint
            cursor = ev.checkpoint
        if len(batch) < _SCAN_BATCH:
            break
    return found, cursor


def feed_item(ev: StoredEvent, producer: str) -> dict[str, Any]:
    return {"position": format_checkpoint(ev.checkpoint),
            "envelope": ev.envelope(producer).model_dump(mode="json")}


def feed_handler(pool: Callable[[web.Application], asyncpg.Pool],
                 store: Callable[[web.Application], EventStore]) -> Callable[..., Any]:
    """The ``/internal/events`` handler of a service (``shared.service.build_app`` adds it)."""

    async def serve_events(request: web.Request) -> web.Response:
        require_internal(request)
        after = parse_checkpoint(request.query.get("after", ""))
        types = parse_types(request.query.get("types"))
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed.field("limit", f"1 to {MAX_LIMIT}")
        app_store = store(request.app)
        async with pool(request.app).acquire() as conn:
            events, next_cp = await read_public(app_store, conn, after, types, limit)
        return web.json_response({"items": [feed_item(ev, app_store.producer) for ev in events],
                                  "next": format_checkpoint(next_cp)})

    return serve_events
