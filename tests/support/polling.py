"""Waiting for eventually consistent effects without sleeping blindly.

``eventually(probe)`` calls ``probe`` (a plain or an async function) until it returns
something truthy and returns that value; past the deadline it fails with an
``AssertionError`` naming ``what`` was awaited (and, with ``last``, what was seen), so a
failure says more than "timed out". This is the one copy every test uses (shared/tests,
services/*/tests, tests/); docs/CONVENTIONS.md, "Tests".
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 10.0, *,
                     every: float = 0.05, what: str = "the condition",
                     last: Callable[[], object] | None = None) -> T: ...


@overload
async def eventually(probe: Callable[[], T | None], within: float = 10.0, *,
                     every: float = 0.05, what: str = "the condition",
                     last: Callable[[], object] | None = None) -> T: ...


async def eventually(probe: Callable[[], Any], within: float = 10.0, *,
                     every: float = 0.05, what: str = "the condition",
                     last: Callable[[], object] | None = None) -> Any:
    """The first truthy answer of ``probe`` within ``within`` seconds (polled every ``every``).

    ``last``, if given, is called on failure to describe what was seen last.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = probe()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got
        if loop.time() >= deadline:
            seen = f"; last seen: {last()!r}" if last is not None else ""
            raise AssertionError(f"{what} did not happen within {within}s{seen}")
        await asyncio.sleep(every)
