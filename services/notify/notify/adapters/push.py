"""Waking open message streams: PostgreSQL LISTEN on one connection per process.

A message's transaction sends ``NOTIFY notify_messages, '<recipient id>'``; PostgreSQL
delivers it at commit to every listening notify replica, whichever replica consumed the event.
The hub sets the wake-up flag of each stream of that recipient, and the stream then reads what
it has not sent yet from the database. A notification therefore never carries the message:
a lost one costs latency, never a message. When the listening connection is lost, the hub
reconnects and wakes every stream so that each catches up with what it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import asyncpg

from shared.logging import get_logger

from .repository import CHANNEL

log = get_logger(__name__)


class Subscription:
    """One open stream's wake-up flag."""

    def __init__(self, recipient: uuid.UUID) -> None:
        self.recipient = recipient
        self._wake = asyncio.Event()
        self.closed = False

    def wake(self) -> None:
        self._wake.set()

    async def wait(self, seconds: float) -> bool:
        """True when woken (new messages, or the hub closing); False after ``seconds``."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            return False
        self._wake.clear()
        return True


class PushHub:
    def __init__(self, dsn: str, *, reconnect_delay: float = 1.0, ping_interval: float = 30.0) -> None:
        self.dsn, self.reconnect_delay, self.ping_interval = dsn, reconnect_delay, ping_interval
        self._subs: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.closing = False

    # lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen()  # the first connection must work: fail the start otherwise
        self._task = asyncio.create_task(self._keep_listening(), name="notify-push-listener")

    async def close(self) -> None:
        """Ends every stream (they see ``closing``) and stops listening."""
        self.closing = True
        for sub in self._all():
            sub.closed = True
            sub.wake()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_connection()

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    # subscriptions --------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, recipient: uuid.UUID) -> Iterator[Subscription]:
        sub = Subscription(recipient)
        sub.closed = self.closing
        self._subs[recipient].add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(recipient)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[recipient]

    def wake(self, recipient: uuid.UUID) -> None:
        for sub in self._subs.get(recipient, ()):
            sub.wake()

    def wake_all(self) -> None:
        for sub in self._all():
            sub.wake()

    def _all(self) -> list[Subscription]:
        return [s for subs in self._subs.values() for s in subs]

    # listening ------------------------------------------------------------------------

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            recipient = uuid.UUID(str(payload))
        except ValueError:
            return
        self.wake(recipient)

    def _on_terminate(self, _conn: Any) -> None:
        self._lost.set()

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        conn.add_termination_listener(self._on_terminate)
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        self._lost.clear()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _keep_listening(self) -> None:
        while not self.closing:
            if not await self._still_listening():
                await self._reconnect()

    async def _still_listening(self) -> bool:
        """Waits for the connection to drop; a periodic ping catches a silently dead one."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._lost.wait(), self.ping_interval)
            return False
        conn = self._conn
        try:
            return conn is not None and await conn.fetchval("SELECT true", timeout=5) is True
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def _reconnect(self) -> None:
        await self._drop_connection()
        log.warning("push_listener_lost")
        while not self.closing:
            try:
                await self._listen()
                break
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("push_listener_reconnect_failed", error=repr(exc))
                await asyncio.sleep(self.reconnect_delay)
        self.wake_all()  # whatever was notified while we were away
