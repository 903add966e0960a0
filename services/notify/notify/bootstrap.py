"""Wiring of the notify service: settings, spec, process entry point.

notify consumes other services' public events (queue ``notify.events``), keeps the directory
it needs to find recipients, writes messages, and pushes them to open streams. It publishes
no events of its own, so it runs no relay. It also keeps the subscribers (other government
systems): their tokens, the merged event feed, and their webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from shared import DB, SETTINGS, ServiceSpec, build_app, main
from shared.http import add_readiness_check
from shared.webhooks import GuardedSender

from .adapters.push import PushHub
from .config import NotifySettings
from .entrypoints.appkeys import NOTIFY
from .entrypoints.http import setup_routes
from .entrypoints.subscriptions import fetcher
from .service_layer.context import Notify
from .service_layer.handlers import event_handlers
from .service_layer.subscribers import SubscriberTokens
from .service_layer.webhooks import Dispatcher

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


PUSH_HUB = web.AppKey("push_hub", PushHub)  # also for end_streams, on shutdown


async def notify_context(app: web.Application) -> AsyncIterator[None]:
    """The context (``app[NOTIFY]``): the LISTEN for committed messages (one connection per
    process), subscribers' tokens; and the webhook dispatcher (one task per process)."""
    settings = app[SETTINGS]
    assert isinstance(settings, NotifySettings)
    hub = PushHub(settings.database_url)
    await hub.start()
    app[PUSH_HUB] = hub

    async def listening() -> bool:
        return hub.listening

    add_readiness_check(app, "push_listener", listening)
    app[NOTIFY] = ctx = Notify(
        pool=app[DB], settings=settings, hub=hub, fetch=fetcher(app),
        tokens=SubscriberTokens(settings.subscriber_token_key, settings.subscriber_token_ttl_seconds))
    sender = GuardedSender(allow_private=settings.webhooks_may_reach_private_addresses,
                           timeout=settings.webhook_timeout)
    dispatcher = Dispatcher(ctx.pool, ctx.fetch, sender, settings)
    task = asyncio.create_task(dispatcher.run(), name="notify-webhooks")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sender.close()
    await hub.close()


async def end_streams(app: web.Application) -> None:
    """On shutdown, before the server waits for open handlers: end every stream."""
    hub = app.get(PUSH_HUB)
    if hub is not None:
        await hub.close()


SPEC = ServiceSpec(name="notify", migrations=MIGRATIONS, setup_routes=setup_routes,
                   handlers=lambda app: event_handlers(), publishes=False,
                   contexts=(notify_context,))


def create_app(settings: NotifySettings | None = None) -> web.Application:
    app = build_app(SPEC, settings or NotifySettings())
    app.on_shutdown.append(end_streams)
    return app


def run() -> None:
    from .entrypoints import cli

    if cli.handles_argv():
        cli.main()
        return
    main(SPEC, NotifySettings, lambda s: create_app(s))  # type: ignore[arg-type]


__all__ = ["SPEC", "NotifySettings", "create_app", "run"]
