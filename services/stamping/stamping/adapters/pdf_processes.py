"""PDF stamping in worker processes; the remote calls it makes are answered by the service.

Why processes (issue 18): pyHanko is pure Python. In ``PdfWorkers``' threads it holds the
GIL the service's event loop needs, and all stamping of a replica shares one core however
many threads there are. Here a stamp's whole pyHanko run (parsing, layout, chain and
revocation checks, size estimate, DSS, hashing, the CMS, the splice) runs in a worker
process, several stamps interleaved on the worker's own event loop, while the service's
loop stays free for HTTP and PostgreSQL.

What the job needs from the service crosses back as **port calls**: the seal signature
(``SealDigestSigner``: seals on the main loop, which decides under its locks), the
timestamp (``RecordingTimeStamper``: the shared TSA client, which keeps this stamp's
token), the size-estimation token (cached once per worker) and the final stamp metadata
(the person's signature, awaited on the main loop). Each is one message each way over a
socketpair; the worker waits for the answer on its own loop, so the next stamp's CPU work
runs meanwhile. Nothing in the worker holds a key or talks to another service.

Errors cross as descriptions (ours carry keyword state that pickling drops) and are raised
again as the same class, so callers see exactly what the thread path raised. A job past
the deadline is cancelled at its next port call (504 ``stamping_timed_out``, as in
threads); a worker that dies fails its jobs (502 ``signing_failed``) and is replaced.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import importlib
import itertools
import pickle
import socket
import struct
import traceback
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.timestamps import TimeStamper

from shared.errors import EsealError
from shared.logging import get_logger

from .loops import StampingTimedOut
from .pdf import StampMetadata, offline_validation_context, stamp_pdf
from .pdf.signing import DigestSigner, Mark, StampSigningError

log = get_logger(__name__)

_HEADER = struct.Struct(">Q")
_CANCEL_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class PdfStampJob:
    """One PAdES B-LT signature over ``pdf``: everything ``stamp_pdf`` needs but its ports,
    in picklable form (certificates and CRLs as DER)."""

    pdf: bytes
    marks: tuple[Mark, ...]
    seal_png: bytes
    seal_size_pt: float
    seal_height_pt: float
    chain_der: tuple[bytes, ...]  # the signer's certificate first
    roots_der: tuple[bytes, ...]  # the validation context of the DSS: trusted roots …
    crls_der: tuple[bytes, ...]  # … the CRLs …
    others_der: tuple[bytes, ...]  # … and the intermediates and the TSA's certificate
    metadata: StampMetadata | None
    field_name: str
    max_bytes: int
    fit_pt: tuple[float, float] | None = None
    reason: str | None = None
    signer_name: str | None = None
    final_metadata: bool = False  # ask the service for the final metadata before hashing


def der(items: list[x509.Certificate] | list[x509.CertificateRevocationList]) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(Encoding.DER) for c in items)


# The room a stamp's CMS needs, by what it depends on (pyHanko builds a dry-run CMS for it,
# ~10% of a stamp's CPU): the chain, the revocation data, the TSA's size token. Per process.
_sizes: dict[Hashable, int] = {}
_MAX_SIZES = 256


async def run_stamp_job(job: PdfStampJob, signer: DigestSigner, timestamper: TimeStamper,
                        final_metadata: Callable[[], Awaitable[StampMetadata]] | None) -> bytes:
    """``stamp_pdf`` for ``job``, wherever it runs (a worker process, a thread, inline)."""
    context = offline_validation_context(list(job.roots_der), crls=list(job.crls_der),
                                         other_certs=list(job.others_der))
    if len(_sizes) >= _MAX_SIZES:
        _sizes.clear()
    token = await timestamper.async_dummy_response("sha256")
    size_key = (hashlib.sha256(b"".join((*job.chain_der, b"|", *job.roots_der, b"|", *job.crls_der, b"|",
                                         *job.others_der, b"|", token.dump()))).digest())
    return await stamp_pdf(
        job.pdf, marks=list(job.marks), seal_png=job.seal_png, seal_size_pt=job.seal_size_pt,
        seal_height_pt=job.seal_height_pt, fit_pt=job.fit_pt, signer=signer, chain=list(job.chain_der),
        timestamper=timestamper, validation_context_for_lt=context, metadata=job.metadata,
        final_metadata=final_metadata if job.final_metadata else None, field_name=job.field_name,
        max_bytes=job.max_bytes, reason=job.reason, signer_name=job.signer_name, size_cache=_sizes,
        size_key=size_key)


# the wire: length-prefixed pickles between the service and its own children ---------------


class _Channel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_HEADER.pack(len(data)) + data)

    async def recv(self) -> tuple[Any, ...] | None:
        try:
            (size,) = _HEADER.unpack(await self.reader.readexactly(_HEADER.size))
            message: tuple[Any, ...] = pickle.loads(await self.reader.readexactly(size))  # noqa: S301 - our own child
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return message


def _describe(e: BaseException) -> tuple[Any, ...]:
    if isinstance(e, EsealError):
        cls = type(e)
        return ("eseal", cls.__module__, cls.__qualname__, e.status, e.code, e.detail, e.errors,
                e.headers, e.extra)
    return ("other", f"{type(e).__module__}.{type(e).__qualname__}", str(e),
            "".join(traceback.format_exception(e))[-4000:])


def _rebuild(description: tuple[Any, ...]) -> BaseException:
    if description[0] == "eseal":
        _, module, qualname, status, code, detail, errors, headers, extra = description
        try:
            cls: Any = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
            if not (isinstance(cls, type) and issubclass(cls, EsealError)):
                cls = EsealError
        except (ImportError, AttributeError):
            cls = EsealError
        err = cls.__new__(cls)
        EsealError.__init__(err, detail, code=code, errors=errors, headers=headers, **extra)
        err.status = status
        return err  # type: ignore[no-any-return]
    _, name, message, trace = description
    return RuntimeError(f"PDF worker: {name}: {message}\n{trace}")


# the worker process ----------------------------------------------------------------------

# per worker: the TSA's size-estimation tokens, parsed once and shared by the worker's jobs,
# as the service's one TimeStamper shares its own with every thread
_dummy_tokens: dict[str, cms.ContentInfo] = {}


class _Call:
    """A job's port calls to the service."""

    def __init__(self, channel: _Channel, job_id: int,
                 pending: dict[tuple[int, int], asyncio.Future[Any]]) -> None:
        self.channel, self.job_id, self.pending = channel, job_id, pending
        self.ids = itertools.count()

    async def __call__(self, port: str, *args: Any) -> Any:
        call_id = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[(self.job_id, call_id)] = future
        try:
            self.channel.send(("call", self.job_id, call_id, port, args))
            return await future
        finally:
            self.pending.pop((self.job_id, call_id), None)


class _SignerProxy:
    def __init__(self, call: _Call) -> None:
        self.call = call

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        signature: bytes = await self.call("sign_digest", digest, algorithm)
        return signature


class _TimeStamperProxy(TimeStamper):
    def __init__(self, call: _Call) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.call = call

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        return cms.ContentInfo.load(await self.call("timestamp", message_digest, md_algorithm))

    async def async_dummy_response(self, md_algorithm: str) -> cms.ContentInfo:
        if md_algorithm in self._dummy_response_cache:
            token: cms.ContentInfo = self._dummy_response_cache[md_algorithm]
            return token
        if md_algorithm not in _dummy_tokens:
            _dummy_tokens[md_algorithm] = cms.ContentInfo.load(await self.call("dummy", md_algorithm))
        token = _dummy_tokens[md_algorithm]
        self._register_dummy(md_algorithm, token)  # type: ignore[no-untyped-call]
        return token


def _worker_main(sock: socket.socket) -> None:
    asyncio.run(_serve(sock))


async def _serve(sock: socket.socket) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    channel = _Channel(reader, writer)
    pending: dict[tuple[int, int], asyncio.Future[Any]] = {}
    jobs: dict[int, asyncio.Task[None]] = {}

    async def run(job_id: int, job: PdfStampJob) -> None:
        call = _Call(channel, job_id, pending)

        async def final() -> StampMetadata:
            metadata: StampMetadata = await call("final_metadata")
            return metadata
        try:
            out = await run_stamp_job(job, _SignerProxy(call), _TimeStamperProxy(call), final)
            channel.send(("done", job_id, True, out))
        except asyncio.CancelledError:
            channel.send(("done", job_id, False, _describe(StampingTimedOut("the stamp was cancelled"))))
        except BaseException as e:  # noqa: BLE001 - described to the service, which raises it
            channel.send(("done", job_id, False, _describe(e)))
        finally:
            jobs.pop(job_id, None)

    while (message := await channel.recv()) is not None:
        kind, job_id = message[0], message[1]
        if kind == "job":
            jobs[job_id] = asyncio.create_task(run(job_id, message[2]))
        elif kind == "reply":
            _, _, call_id, ok, value = message
            future = pending.get((job_id, call_id))
            if future is not None and not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(_rebuild(value))
        elif kind == "cancel" and job_id in jobs:
            jobs[job_id].cancel()
    for task in list(jobs.values()):  # the service went away
        task.cancel()


# the service's side ------------------------------------------------------------------------

Port = Callable[..., Awaitable[Any]]


@dataclass
class _Job:
    ports: dict[str, Port]
    done: asyncio.Future[tuple[bool, Any]]
    # The stamp's context (trace span, request id, log fields): its port calls run in it, so
    # the calls to seals and the TSA belong to the stamp's trace, as on the thread path.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    calls: set[asyncio.Task[None]] = field(default_factory=set)
    abandoned: bool = False  # the caller gave up: no port call of it is answered any more


class _Worker:
    def __init__(self, process: Any, channel: _Channel) -> None:
        self.process, self.channel = process, channel
        self.jobs: dict[int, _Job] = {}
        self.alive = True
        self.pump = asyncio.create_task(self._pump(), name="pdf-worker-pump")

    async def _pump(self) -> None:
        while (message := await self.channel.recv()) is not None:
            kind, job_id = message[0], message[1]
            job = self.jobs.get(job_id)
            if job is None:
                continue
            if kind == "call" and not job.abandoned:
                _, _, call_id, port, args = message
                task = asyncio.create_task(self._answer(job, job_id, call_id, port, args),
                                           context=job.context.copy())
                job.calls.add(task)
                task.add_done_callback(job.calls.discard)
            elif kind == "done" and not job.done.done():
                job.done.set_result((message[2], message[3]))
        self.alive = False
        for job in self.jobs.values():
            if not job.done.done():
                job.done.set_result((False, _describe(StampSigningError("the PDF worker stopped"))))
        log.warning("pdf_worker_stopped", exitcode=self.process.exitcode)

    async def _answer(self, job: _Job, job_id: int, call_id: int, port: str, args: tuple[Any, ...]) -> None:
        try:
            value = await job.ports[port](*args)
            reply: tuple[Any, ...] = ("reply", job_id, call_id, True, value)
        except asyncio.CancelledError:
            return
        except BaseException as e:  # noqa: BLE001 - raised again in the job, as the thread path would
            reply = ("reply", job_id, call_id, False, _describe(e))
        if self.alive:
            self.channel.send(reply)

    def stop_if_running(self, job: _Job) -> None:
        if self.alive and not job.done.done():
            log.warning("pdf_worker_stuck", pid=self.process.pid)
            self.alive = False
            self.process.kill()

    def stop(self) -> None:
        self.alive = False
        self.channel.writer.close()
        self.pump.cancel()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()


class PdfProcesses:
    """``processes`` worker processes, at most ``jobs_per_process`` stamps interleaved in each."""

    def __init__(self, processes: int, jobs_per_process: int, deadline_seconds: float | None) -> None:
        from .verifier import preload_context  # one forkserver for both pools

        self.processes = processes
        self.deadline = deadline_seconds
        self._context = preload_context()
        self._workers: list[_Worker] = []
        self._slots = asyncio.Semaphore(processes * max(1, jobs_per_process))
        self._ids = itertools.count()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            self._workers = [w for w in self._workers if w.alive]
            while len(self._workers) < self.processes:
                self._workers.append(await self._spawn())

    async def _spawn(self) -> _Worker:
        parent, child = socket.socketpair()
        process = self._context.Process(target=_worker_main, args=(child,), daemon=True,
                                        name="stamping-pdf")
        await asyncio.to_thread(process.start)
        child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        return _Worker(process, _Channel(reader, writer))

    async def stamp(self, job: PdfStampJob, ports: dict[str, Port]) -> bytes:
        async with self._slots:
            if len([w for w in self._workers if w.alive]) < self.processes:
                await self.start()
            worker = min((w for w in self._workers if w.alive), key=lambda w: len(w.jobs))
            job_id = next(self._ids)
            running = _Job(ports, asyncio.get_running_loop().create_future())
            worker.jobs[job_id] = running
            try:
                worker.channel.send(("job", job_id, job))
                ok, value = await asyncio.wait_for(asyncio.shield(running.done), self.deadline)
            except TimeoutError:
                raise StampingTimedOut(f"the stamp did not finish within {self.deadline:g} s") from None
            finally:
                running.abandoned = True
                for task in list(running.calls):
                    task.cancel()
                if not running.done.done() and worker.alive:
                    worker.channel.send(("cancel", job_id))
                    # cancelled at its next port call; a job stuck computing takes its worker
                    # down with it (its other stamps fail, a fresh worker takes their place)
                    running.done.add_done_callback(lambda _: worker.jobs.pop(job_id, None))
                    asyncio.get_running_loop().call_later(_CANCEL_GRACE_SECONDS, worker.stop_if_running,
                                                          running)
                else:
                    worker.jobs.pop(job_id, None)
        if ok:
            result: bytes = value
            return result
        raise _rebuild(value)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []
