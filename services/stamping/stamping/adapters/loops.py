"""Running PDF work in threads while its remote calls stay on the service's event loop.

A stamp's pyHanko signing goes to worker processes when there are any (``stamp``; issue 18,
``pdf_processes``); threads remain for the rest (a person's signature revision, OFD work,
a detached CMS) and run the stamp itself with 0 processes.

pyHanko's signing is ~60–75 ms of CPU per stamp; on the event loop it would stall every
other request. ``PdfWorkers`` runs such coroutines in a small thread pool, each thread with
a loop of its own. Whatever they await that belongs to the main loop (the HTTP session to
seals and certs) is sent back there with ``call_on``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from shared.errors import EsealError

T = TypeVar("T")


async def call_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on ``loop``, from whichever loop we are on."""
    if asyncio.get_running_loop() is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


class StampingTimedOut(EsealError):
    status, code, title = 504, "stamping_timed_out", "Stamping took too long"


class PdfWorkers:
    """At most ``threads`` PDF jobs at once; 0 threads runs them inline (tests, debugging).

    Each job must finish within ``deadline_seconds`` (504 ``stamping_timed_out``): the job is
    cancelled at its next await (a call to seals or the TSA), so a stuck peer frees the thread.
    These threads are stamping's own: verification runs in processes of its own
    (``verifier.VerificationWorkers``) and cannot take them.
    """

    def __init__(self, threads: int, deadline_seconds: float | None = None, *, processes: int = 0,
                 jobs_per_process: int = 4) -> None:
        self.threads = threads
        self.deadline = deadline_seconds
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="pdf") if threads else None
        self._slots = asyncio.Semaphore(max(1, threads))
        self._processes: Any = None
        if processes:
            from .pdf_processes import PdfProcesses  # noqa: PLC0415 - it imports this module

            self._processes = PdfProcesses(processes, jobs_per_process, deadline_seconds)

    async def start(self) -> None:
        """Start the worker processes now rather than at the first stamp."""
        if self._processes is not None:
            await self._processes.start()

    async def stamp(self, job: Any, *, signer: Any, timestamper: Any,
                    final_metadata: Callable[[], Coroutine[Any, Any, Any]] | None) -> bytes:
        """One PDF signature (``pdf_processes.PdfStampJob``): in a worker process, its port
        calls answered on this loop; without processes, in a thread as ``run``."""
        from .pdf_processes import run_stamp_job  # noqa: PLC0415 - it imports this module

        if self._processes is not None:
            async def timestamp(digest: bytes, algorithm: str) -> bytes:
                return bytes((await timestamper.async_timestamp(digest, algorithm)).dump())

            async def dummy(algorithm: str) -> bytes:
                return bytes((await timestamper.async_dummy_response(algorithm)).dump())

            async def metadata() -> Any:
                assert final_metadata is not None
                return await final_metadata()
            return await self._processes.stamp(job, {  # type: ignore[no-any-return]
                "sign_digest": signer.sign_digest, "timestamp": timestamp, "dummy": dummy,
                "final_metadata": metadata})
        loop = asyncio.get_running_loop()
        final = (lambda: call_on(loop, final_metadata())) if final_metadata is not None else None
        return await self.run(lambda: run_stamp_job(job, signer, timestamper, final))

    async def run(self, job: Callable[[], Awaitable[T]]) -> T:
        async with self._slots:
            if self._executor is None:
                return await _with_deadline(job, self.deadline)
            loop = asyncio.get_running_loop()
            ctx = contextvars.copy_context()  # request id etc. for logs in the thread
            return await loop.run_in_executor(self._executor, ctx.run, _run_in_new_loop, job, self.deadline)

    async def call(self, fn: Callable[[], T]) -> T:
        """A plain function (no awaits: OFD packaging) in one of the threads, without the
        event loop ``run`` gives each job; 0 threads calls it inline."""
        async with self._slots:
            if self._executor is None:
                return fn()
            ctx = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self._executor, ctx.run, fn)

    def close(self) -> None:
        if self._processes is not None:
            self._processes.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


async def _with_deadline(job: Callable[[], Awaitable[T]], deadline: float | None) -> T:
    try:
        return await asyncio.wait_for(job(), deadline)
    except TimeoutError:
        raise StampingTimedOut(f"the stamp did not finish within {deadline:g} s") from None


def _run_in_new_loop(job: Callable[[], Awaitable[T]], deadline: float | None) -> T:
    return asyncio.run(_with_deadline(job, deadline))
