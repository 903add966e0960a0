"""Which sessions identity has ended: kept in memory, fed by ``identity.SessionsRevoked``.

Every gateway replica needs every revocation, so each listens on its own exclusive queue
(not a competing durable one). After a (re)connect it resynchronises from identity, so a
revocation published while it was disconnected is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from shared.auth import Principal
from shared.bus import declare_events_exchange
from shared.catalog import SessionsRevoked
from shared.events import Envelope
from shared.internal import ServiceClient
from shared.logging import get_logger

log = get_logger(__name__)
ROUTING_KEY = "identity.SessionsRevoked"


class RevocationList:
    def __init__(self) -> None:
        self._principals: dict[uuid.UUID, int] = {}  # principal -> revoked before (ms)
        self._sessions: set[str] = set()

    def add(self, ev: SessionsRevoked) -> None:
        ms = int(ev.revoked_before.timestamp() * 1000)
        if ev.session_id and ev.reason == "logout":
            self._sessions.add(ev.session_id)
        else:
            self._principals[ev.principal_id] = max(ms, self._principals.get(ev.principal_id, 0))

    def is_revoked(self, p: Principal) -> bool:
        if p.session_id and p.session_id in self._sessions:
            return True
        cutoff = self._principals.get(p.id)
        return cutoff is not None and p.issued_at < cutoff


class RevocationFeed:
    def __init__(self, revocations: RevocationList, amqp_url: str, identity: ServiceClient) -> None:
        self.revocations, self.amqp_url, self.identity = revocations, amqp_url, identity
        self._connection: AbstractRobustConnection | None = None
        self._queue: Any = None
        self.attached = False

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url, client_properties={"connection_name": "gateway-revocations"})
        channel = await self._connection.channel()
        exchange = await declare_events_exchange(channel)
        self._queue = await channel.declare_queue(
            f"gateway.revocations.{uuid.uuid4().hex[:12]}", exclusive=True, auto_delete=True)
        await self._queue.bind(exchange, routing_key=ROUTING_KEY)
        await self._queue.consume(self._on_message, no_ack=True)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        await self.resync()
        self.attached = True

    def _on_reconnect(self, *_: Any) -> None:
        asyncio.get_running_loop().create_task(self.resync())

    async def resync(self) -> None:
        """Load the revocations that may still matter (younger than any live token)."""
        try:
            body = await self.identity.get("/internal/revocations")
        except Exception as exc:  # noqa: BLE001 - identity may start after the gateway
            log.warning("revocation_resync_failed", error=repr(exc))
            return
        for item in body.get("items", []):
            self.revocations.add(SessionsRevoked.model_validate(item))

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            ev = Envelope.model_validate_json(message.body).decode()
        except Exception as exc:  # noqa: BLE001 - ignore what cannot be read; it is logged
            log.error("revocation_unreadable", error=repr(exc)[:300])
            return
        if isinstance(ev, SessionsRevoked):
            self.revocations.add(ev)

    async def stop(self) -> None:
        self.attached = False
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()


def now_ms() -> int:
    return int(time.time() * 1000)
