"""The merged public event feed: each producer's ``/internal/events``, one composite position.

Each producer's events keep their own global order (the relay's); producers are interleaved
by ``occurred_at`` (there is no order across producers, on the bus either). The position
returned holds, for each producer, how far its events were handed out (``shared.event_feed``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from shared.event_feed import Position, format_position, parse_checkpoint, public_types

from .ports import Fetch


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]  # envelopes, exactly as on the bus
    next: str  # the composite position after them


async def read(fetch: Fetch, after: Position, types: list[str], limit: int) -> Page:
    producers: dict[str, list[str]] = {}
    for name, producer in public_types().items():
        if name in types:
            producers.setdefault(producer, []).append(name)
    answers: dict[str, dict[str, Any]] = {}
    for producer, wanted in sorted(producers.items()):
        start = after.get(producer)
        answers[producer] = await fetch(producer, f"{start.xact_id}.{start.position}" if start else "0",
                                        wanted, limit)
    streams = [[(item["envelope"]["occurred_at"], producer, i, item)
                for i, item in enumerate(answer["items"])] for producer, answer in answers.items()]
    taken = [entry for _, entry in zip(range(limit), heapq.merge(*streams, key=lambda e: (e[0], e[1])),
                                       strict=False)]
    position = dict(after)
    for producer, answer in answers.items():
        mine = [e for e in taken if e[1] == producer]
        if len(mine) == len(answer["items"]):
            position[producer] = parse_checkpoint(answer["next"], "next")
        elif mine:
            position[producer] = parse_checkpoint(mine[-1][3]["position"], "next")
    return Page([e[3]["envelope"] for e in taken], format_position(position))
