"""What notify's handlers need, wired once in bootstrap (``notify_context``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ..config import NotifySettings
from .ports import Fetch, Wakeups
from .subscribers import SubscriberTokens


@dataclass
class Notify:
    pool: asyncpg.Pool  # the service's database (messages, directory, subscribers)
    settings: NotifySettings
    hub: Wakeups  # word of committed messages, for the open streams (adapters.push.PushHub)
    tokens: SubscriberTokens  # subscribers' access tokens
    fetch: Fetch  # the producers' public event feeds
