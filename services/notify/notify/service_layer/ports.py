"""What notify's service layer needs from outside, as ``Protocol``s the adapters implement.

- ``Fetch``: one producer's public event feed (``/internal/events``; ``entrypoints.subscriptions.fetcher``);
- ``Wakeups``: word that a recipient's messages committed (``adapters.push.PushHub``, LISTEN/NOTIFY);
- ``Provisioner``: a subscriber's user and queue on the broker (``adapters.broker.Broker``,
  ``adapters.management.ManagementBroker``);
- ``WebhookSender``: one signed webhook POST (``shared.webhooks.GuardedSender``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

# (producer, after "<xact>.<position>", types, limit) -> {"items": [...], "next": "..."}
Fetch = Callable[[str, str, list[str], int], Awaitable[dict[str, Any]]]


class Wakeup(Protocol):
    """One open stream's wake-up flag."""

    closed: bool

    async def wait(self, seconds: float) -> bool:
        """True when woken (new messages, or the hub closing); False after ``seconds``."""
        ...


class Wakeups(Protocol):
    def subscribe(self, recipient: uuid.UUID) -> AbstractContextManager[Wakeup]: ...


class Provisioner(Protocol):
    """What the subscriber commands need of the broker, whichever tool sets the users."""

    async def provision(self, slug: str, password: str, routing_keys: Iterable[str]) -> None: ...

    async def change_password(self, slug: str, password: str) -> None: ...

    async def cut_off(self, slug: str) -> None: ...


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, secret: str,
                   headers: dict[str, Any] | None = None) -> tuple[bool, str]:
        """(delivered, what happened: ``HTTP <status>`` or why it was not sent)."""
        ...
