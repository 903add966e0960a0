"""Which sessions identity has ended, known by every process that accepts access tokens.

A token the gateway let through is not the only way into a service (a misrouted path, a
pod reached inside the cluster), so each service refuses a revoked session itself:
``require_principal`` asks the app's ``SESSION_CHECK``, which is this list everywhere but in
identity (identity reads its own sessions table).

Feed: ``identity.SessionsRevoked`` on an exclusive queue per process (every replica needs
every revocation, so not a competing durable queue), and a resynchronisation from identity's
``GET /internal/revocations`` once attached and after every reconnect, so that a revocation
published while the process was away is not missed.

Fail closed: until the first resynchronisation succeeded the list cannot tell a live session
from an ended one, so authenticated requests get 503 ``revocations_unavailable`` and
``/readyz`` is 503. A failed attempt is retried with backoff, forever.

Entries are dropped once every token they could refuse has expired: identity's access-token
lifetime (reported with the resync; its upper bound until then) plus a margin for clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aio_pika
import aiohttp
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from aiohttp import web

from .auth import SESSION_CHECK, Principal
from .bus import declare_events_exchange
from .catalog import SessionsRevoked
from .errors import NotAuthenticated, ServiceUnavailable
from .events import Envelope
from .http import add_readiness_check
from .internal import ServiceClient
from .logging import get_logger
from .settings import ServiceSettings

log = get_logger(__name__)

ROUTING_KEY = "identity.SessionsRevoked"
MAX_TOKEN_TTL_SECONDS = 3600.0  # identity refuses a longer access-token lifetime
MARGIN_SECONDS = 120.0  # clock skew between identity and this process, and in-flight requests
PRUNE_EVERY_SECONDS = 60.0


class RevocationList:
    """Ended sessions (logout) and principals whose older tokens are dead, each kept until
    no token it could refuse can still be alive."""

    def __init__(self, *, token_ttl_seconds: float = MAX_TOKEN_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.token_ttl_seconds = token_ttl_seconds
        self.clock = clock
        self.synced = False  # the first resynchronisation succeeded
        self._sessions: dict[str, float] = {}  # session id -> keep until (epoch s)
        self._principals: dict[uuid.UUID, tuple[int, float]] = {}  # -> (revoked before ms, keep until)
        self._watchers: list[tuple[Principal, asyncio.Event]] = []
        self._last_prune = clock()

    def __len__(self) -> int:
        return len(self._sessions) + len(self._principals)

    def add(self, ev: SessionsRevoked) -> None:
        now = self.clock()
        revoked_before = ev.revoked_before.timestamp()
        keep_until = revoked_before + self.token_ttl_seconds + MARGIN_SECONDS
        if keep_until > now:  # else every token it names has expired already
            if ev.session_id and ev.reason == "logout":
                self._sessions[ev.session_id] = max(keep_until, self._sessions.get(ev.session_id, 0.0))
            else:
                ms = int(revoked_before * 1000)
                old_ms, old_keep = self._principals.get(ev.principal_id, (0, 0.0))
                self._principals[ev.principal_id] = (max(ms, old_ms), max(keep_until, old_keep))
        if now - self._last_prune >= PRUNE_EVERY_SECONDS:
            self.prune()
        self._wake_watchers()

    def mark_synced(self) -> None:
        self.synced = True

    def prune(self) -> int:
        """Drop what can no longer refuse a live token; returns how many entries went."""
        now = self.clock()
        self._last_prune = now
        gone_sessions = [s for s, keep in self._sessions.items() if keep <= now]
        gone_principals = [p for p, (_, keep) in self._principals.items() if keep <= now]
        for s in gone_sessions:
            del self._sessions[s]
        for p in gone_principals:
            del self._principals[p]
        return len(gone_sessions) + len(gone_principals)

    def is_revoked(self, p: Principal) -> bool:
        if p.session_id and p.session_id in self._sessions:
            return True
        entry = self._principals.get(p.id)
        return entry is not None and p.issued_at < entry[0]

    async def ensure_live(self, p: Principal) -> None:
        """``SESSION_CHECK``: 503 before the first resync (fail closed), 401 when revoked."""
        if not self.synced:
            raise ServiceUnavailable("revocations are not loaded yet; try again shortly",
                                     code="revocations_unavailable", headers={"Retry-After": "1"})
        if self.is_revoked(p):
            raise NotAuthenticated("this session has ended; please log in again", code="token_revoked")

    @contextlib.contextmanager
    def watch(self, p: Principal) -> Iterator[asyncio.Event]:
        """An event set once ``p``'s session is revoked (long-lived streams end on it)."""
        ended = asyncio.Event()
        if self.is_revoked(p):
            ended.set()
        entry = (p, ended)
        self._watchers.append(entry)
        try:
            yield ended
        finally:
            self._watchers.remove(entry)

    def _wake_watchers(self) -> None:
        for p, ended in self._watchers:
            if not ended.is_set() and self.is_revoked(p):
                ended.set()


class RevocationFeed:
    """Keeps a ``RevocationList`` current: events from the bus, resyncs from identity."""

    retry_initial = 0.5  # seconds before the first retry; doubled up to retry_max
    retry_max = 5.0
    first_wait = 5.0  # how long startup waits for the first attempt (then it goes on behind)

    def __init__(self, revocations: RevocationList, amqp_url: str, identity: ServiceClient, *,
                 name: str) -> None:
        self.revocations, self.amqp_url, self.identity, self.name = revocations, amqp_url, identity, name
        self.failures = 0
        self._connection: AbstractConnection | None = None
        self._resync_wanted = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Runs in the background; startup waits for the first attempt only, so that a
        process whose identity is up is ready when it returns, and one whose identity is
        not yet up starts anyway (not ready, retrying)."""
        self._resync_wanted.set()
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-revocations")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), self.first_wait)

    async def _run(self) -> None:
        delay = self.retry_initial
        while True:
            try:
                if self._connection is None:
                    await self._attach_or_poll()
                try:
                    await asyncio.wait_for(self._resync_wanted.wait(), PRUNE_EVERY_SECONDS)
                except TimeoutError:
                    self.revocations.prune()
                    continue
                self._resync_wanted.clear()
                await self.resync()
                delay = self.retry_initial
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker or identity not there yet: retry
                self.failures += 1
                self._resync_wanted.set()
                self._first_attempt.set()
                log.warning("revocation_feed_retry", error=repr(exc)[:300], retry_in=delay,
                            synced=self.revocations.synced)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)

    async def _attach_or_poll(self) -> None:
        """Attach a fresh queue; while the broker is away, keep the list fresh from identity."""
        try:
            await self._attach()
        except Exception:
            with contextlib.suppress(Exception):
                await self.resync()
            raise

    async def _attach(self) -> None:
        # A plain connection, re-made by this loop: aio-pika's robust reconnect could leave the
        # exclusive queue undeclared after a forced close (the old one still locked by the
        # broker) without ever calling back, and the feed would go silently deaf.
        connection = await aio_pika.connect(
            self.amqp_url, client_properties={"connection_name": f"{self.name}-revocations"})
        try:
            channel = await connection.channel()
            exchange = await declare_events_exchange(channel)
            queue = await channel.declare_queue(
                f"{self.name}.revocations.{uuid.uuid4().hex[:12]}", exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=ROUTING_KEY)
            await queue.consume(self._on_message, no_ack=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        connection.close_callbacks.add(self._on_close)
        self._connection = connection
        # What was published before this queue existed is only in identity's list.
        self._resync_wanted.set()

    def _on_close(self, *_: Any) -> None:
        self._connection = None  # the loop attaches a new queue, then resyncs
        self._resync_wanted.set()

    async def resync(self) -> None:
        """Load the revocations that may still matter (younger than any live token)."""
        body = await self.identity.get("/internal/revocations")
        ttl = body.get("access_token_ttl_seconds")
        if isinstance(ttl, int | float) and 0 < ttl <= MAX_TOKEN_TTL_SECONDS:
            self.revocations.token_ttl_seconds = float(ttl)
        for item in body.get("items", []):
            self.revocations.add(SessionsRevoked.model_validate(item))
        self.revocations.prune()
        if not self.revocations.synced:
            log.info("revocations_synced", entries=len(self.revocations))
        self.revocations.mark_synced()
        self._first_attempt.set()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            ev = Envelope.model_validate_json(message.body).decode()
        except Exception as exc:  # noqa: BLE001 - ignore what cannot be read; it is logged
            log.error("revocation_unreadable", error=repr(exc)[:300])
            return
        if isinstance(ev, SessionsRevoked):
            self.revocations.add(ev)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()


REVOCATIONS = web.AppKey("revocations", RevocationList)
REVOCATION_FEED = web.AppKey("revocation_feed", RevocationFeed)


def identity_client(session: aiohttp.ClientSession, settings: ServiceSettings) -> ServiceClient:
    """The one place that says where identity's revocation list is fetched from."""
    return ServiceClient(session, settings.internal_url("identity"), source=settings.service_name,
                         target="identity", secret=settings.internal_secret.get_secret_value())


def revocation_context(settings: ServiceSettings,
                       session: Callable[[web.Application], aiohttp.ClientSession]
                       ) -> Callable[[web.Application], AsyncIterator[None]]:
    """Cleanup context: the list as the app's ``SESSION_CHECK``, its feed, its readiness."""
    async def revocations(app: web.Application) -> AsyncIterator[None]:
        listed = app[REVOCATIONS] = RevocationList()
        app[SESSION_CHECK] = listed
        feed = app[REVOCATION_FEED] = RevocationFeed(
            listed, settings.amqp_url, identity_client(session(app), settings),
            name=settings.service_name)

        async def synced() -> bool:
            return listed.synced

        add_readiness_check(app, "revocations", synced)
        await feed.start()
        yield
        await feed.stop()

    return revocations
