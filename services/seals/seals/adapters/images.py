"""The rendering package made asynchronous: each image is drawn in a worker thread.

Rendering takes 100-200 ms of CPU, so it never runs on the event loop. At most
``concurrency`` renders run at once (more threads would only fight over the GIL and memory);
seal images are deterministic, so recent results are kept in a small LRU cache (previews
are typically asked for again when the seal is generated).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from . import rendering

T = TypeVar("T")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Images:
    def __init__(self, *, concurrency: int = 4, cache_size: int = 256) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._cache: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._cache_size = cache_size

    async def _run(self, fn: Callable[..., T], *args: object, **kw: object) -> T:
        async with self._slots:
            return await asyncio.to_thread(fn, *args, **kw)

    async def seal(self, type_code: str, name: str, uscc: str | None = None) -> bytes:
        """The seal impression PNG; raises ``RenderError`` (caller's fault) or ``FontMissing``."""
        key = (type_code, name, uscc or "")
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        png = await self._run(rendering.render_seal, type_code, name, uscc=uscc)
        self._cache[key] = png
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return png

    async def generated_signature(self, name: str) -> bytes:
        return await self._run(rendering.generate_signature, name)

    async def handwritten_signature(self, png: bytes) -> bytes:
        return await self._run(rendering.normalize_handwritten, png)
