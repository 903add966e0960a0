"""Waiting for eventually consistent effects without sleeping blindly.

``eventually(probe)`` calls an async ``probe`` until it returns something truthy and returns
that value; past the deadline it fails with the probe's last answer, so a failure says what
was seen instead of only "timed out".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 10.0, every: float = 0.05,
                     what: str = "the condition", last: Callable[[], object] | None = None) -> T:
    """The first truthy answer of ``probe`` within ``within`` seconds (polled every ``every``).

    ``last``, if given, is called on failure to describe what was seen last.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = await probe()
        if got:
            return got
        if loop.time() >= deadline:
            seen = f"; last seen: {last()!r}" if last is not None else ""
            raise AssertionError(f"{what} did not happen within {within}s{seen}")
        await asyncio.sleep(every)
