"""Verification jobs in worker processes of their own, each with a deadline that kills it.

Why processes: pyHanko's validation is pure Python and holds the GIL, so a thread pool would
let a flood of uploads starve stamping (which keeps its own ``PdfWorkers`` threads) and could
not stop a runaway job. pebble's ``ProcessPool`` kills the worker of a job past its deadline
or whose caller went away (``future.cancel()`` on a running job terminates its process; the
pool starts a fresh one). Workers are forked from a forkserver that has pyHanko imported, so
a replacement is ready in milliseconds and no worker inherits the service's threads or sockets.

At most ``queue`` jobs wait or run at once; more is 503 ``verification_busy`` at once rather
than a queue that grows with the flood.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from shared.errors import ServiceUnavailable
from shared.logging import get_logger

from .pdf.limits import DocumentTooComplex

log = get_logger(__name__)
T = TypeVar("T")
_PRELOAD = ["stamping.adapters.pdf.jobs", "stamping.adapters.ofd.jobs", "stamping.adapters.pdf_processes"]
_POLL_SECONDS = 0.02


def preload_context() -> Any:
    """The forkserver context both process pools use (verification's, and stamping's PDF
    workers: ``pdf_processes``); the forkserver has both pools' modules imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


class VerificationBusy(ServiceUnavailable):
    code = "verification_busy"


class VerificationWorkers:
    def __init__(self, processes: int, *, deadline_seconds: float, queue: int) -> None:
        context = preload_context()
        self.deadline = deadline_seconds
        self.queue = max(queue, processes)
        self._pool = ProcessPool(max_workers=processes, context=context)
        self._active = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; 422 ``document_too_complex`` past the deadline or if the
        worker dies (memory, recursion); cancelling the caller kills the job's process."""
        if self._active >= self.queue:
            raise VerificationBusy("too many verifications at once; try again shortly",
                                   headers={"Retry-After": "2"})
        self._active += 1
        # pebble kills a job past ``timeout`` too, but only checks between messages; the
        # deadline is enforced here as well, from the moment a worker took the job.
        future = self._pool.schedule(fn, args=args, timeout=self.deadline)
        waiting = asyncio.wrap_future(future)
        started: float | None = None
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=_POLL_SECONDS)
                if done:
                    return waiting.result()
                now = time.monotonic()
                if started is None and future.running():
                    started = now
                if started is not None and now - started > self.deadline:
                    raise FutureTimeout()
        except FutureTimeout:
            raise DocumentTooComplex(
                f"verification did not finish within {self.deadline:g} s") from None
        except ProcessExpired as e:
            log.warning("verification_worker_died", exitcode=e.exitcode)
            raise DocumentTooComplex("the document could not be processed") from None
        finally:
            self._active -= 1
            if not future.done():
                future.cancel()  # type: ignore[no-untyped-call]  # past the deadline, or the caller went away: the worker is killed

    def close(self) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=5)
