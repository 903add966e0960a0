"""Wiring common to every service process: database, migrations, relay, consumer, HTTP.

A service describes itself with a ``ServiceSpec`` and gets an application whose resources
are aiohttp cleanup contexts (started in order, closed in reverse, only if started), plus a
command line: ``python -m <service> [serve|migrate|rebuild-projection NAME]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from . import db, listeners, production, tracing
from .auth import VERIFIER, TokenVerifier
from .consumer import Consumer, Handler
from .event_feed import FEED_PATH, feed_handler
from .eventstore import EventStore
from .http import add_readiness_check, create_app
from .internal import INTERNAL_AUTH, ServiceClient
from .logging import configure_logging, get_logger
from .projections import Projection, rebuild
from .relay import Relay
from .revocations import revocation_context
from .settings import ServiceSettings
from .upstreams import Replicas, with_path

log = get_logger(__name__)

SETTINGS = web.AppKey("settings", ServiceSettings)
DB = web.AppKey("db", asyncpg.Pool)
STORE = web.AppKey("event_store", EventStore)
HTTP = web.AppKey("http_session", aiohttp.ClientSession)
RELAY = web.AppKey("relay", Relay)
CONSUMER = web.AppKey("consumer", Consumer)
REPLICAS = web.AppKey("replicas", dict)  # target service -> Replicas of its internal listener


@dataclass
class ServiceSpec:
    """What makes one service: its routes, handlers of others' events, projections."""

    name: str
    migrations: Path | None
    setup_routes: Callable[[web.Application], None]
    handlers: Callable[[web.Application], Mapping[str, Handler]] | None = None
    projections: Sequence[Projection] = ()
    publishes: bool = True
    verifies_tokens: bool = True
    # Extra resources (adapters, background tasks): cleanup contexts run after the core ones.
    contexts: Sequence[Callable[[web.Application], AsyncIterator[None]]] = ()
    after_commit: Callable[[web.Application], Callable[[Any], Awaitable[None]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def client(app: web.Application, target: str, timeout: float = 10.0) -> ServiceClient:
    """A client for calling another service from this one (its replicas, round-robin)."""
    s = app[SETTINGS]
    known = app[REPLICAS]  # one Replicas per target: every client shares cursor and ejections
    if target not in known:
        known[target] = Replicas(s.internal_url(target))
    return ServiceClient(app[HTTP], known[target], source=s.service_name, target=target,
                         secret=s.internal_secret.get_secret_value(), timeout=timeout)


async def prepare_database(settings: ServiceSettings, migrations: Path | None) -> None:
    await db.ensure_database(settings.pg_url, settings.db_name)
    await db.migrate(settings.database_url, migrations)


def build_app(spec: ServiceSpec, settings: ServiceSettings) -> web.Application:
    app = create_app(max_body_bytes=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[REPLICAS] = {}
    app[STORE] = EventStore(spec.name)
    app[INTERNAL_AUTH] = (settings.internal_secret.get_secret_value(), spec.name)

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[DB] = await db.create_pool(settings.database_url, min_size=settings.db_pool_min,
                                       max_size=settings.db_pool_max)

        async def db_ready() -> bool:
            async with app[DB].acquire() as conn:
                return bool(await conn.fetchval("SELECT true"))

        add_readiness_check(app, "database", db_ready)
        yield
        await app[DB].close()

    async def http_session(app: web.Application) -> AsyncIterator[None]:
        app[HTTP] = aiohttp.ClientSession(trace_configs=tracing.client_trace_configs())
        if spec.verifies_tokens:
            app[VERIFIER] = TokenVerifier(with_path(settings.internal_url("identity"), "/internal/jwks"),
                                          session=app[HTTP])
        yield
        await app[HTTP].close()

    async def relay(app: web.Application) -> AsyncIterator[None]:
        app[RELAY] = Relay(app[DB], settings.amqp_url, app[STORE],
                           batch_size=settings.relay_batch_size,
                           poll_interval=settings.relay_poll_interval)
        task = asyncio.create_task(app[RELAY].run(), name=f"{spec.name}-relay")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def consumer(app: web.Application) -> AsyncIterator[None]:
        assert spec.handlers is not None
        after = spec.after_commit(app) if spec.after_commit else None
        app[CONSUMER] = Consumer(spec.name, app[DB], settings.amqp_url, spec.handlers(app),
                                 prefetch=settings.consumer_prefetch, after_commit=after)
        await _start_with_retry(app[CONSUMER])
        add_readiness_check(app, "consumer", _attached(app[CONSUMER]))
        yield
        await app[CONSUMER].stop()

    app.cleanup_ctx.extend([database, http_session])
    if spec.verifies_tokens:  # identity checks its own sessions table instead
        app.cleanup_ctx.append(revocation_context(settings, lambda app: app[HTTP]))
    if spec.publishes:
        app.cleanup_ctx.append(relay)
        # its public events after a position, for subscribers' catch-up (shared.event_feed)
        app.router.add_get(FEED_PATH, feed_handler(lambda a: a[DB], lambda a: a[STORE]))
    if spec.handlers is not None:
        app.cleanup_ctx.append(consumer)
    app.cleanup_ctx.extend(spec.contexts)
    spec.setup_routes(app)
    return app


def _attached(c: Consumer) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return c.attached
    return check


async def _start_with_retry(c: Consumer, attempts: int = 30) -> None:
    for i in range(attempts):
        try:
            await c.start()
            return
        except Exception as exc:  # noqa: BLE001 - the broker may still be starting
            if i == attempts - 1:
                raise
            log.warning("consumer_start_retry", error=repr(exc))
            await asyncio.sleep(1.0)


def main(spec: ServiceSpec, settings_cls: type[ServiceSettings],
         build: Callable[[ServiceSettings], web.Application] | None = None) -> None:
    """Command line of a service process."""
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="migrate, then serve (default)")
    sub.add_parser("migrate", help="create the database and apply migrations")
    rb = sub.add_parser("rebuild-projection", help="drop a projection and replay events into it")
    rb.add_argument("projection", choices=[p.name for p in spec.projections] or ["-"])
    args, _ = parser.parse_known_args()
    settings = production.load_settings(settings_cls)
    configure_logging(spec.name, json=settings.log_json, level=settings.log_level)
    command = args.command or "serve"
    if command == "migrate":
        asyncio.run(prepare_database(settings, spec.migrations))
    elif command == "rebuild-projection":
        asyncio.run(_rebuild(spec, settings, args.projection))
    else:
        production.check_settings(settings)  # before migrating: exit 2 if unsafe in production
        tracing.setup(spec.name, endpoint=settings.otlp_endpoint,
                      sample_ratio=settings.trace_sample_ratio)
        app = (build or (lambda s: build_app(spec, s)))(settings)
        production.check_app(settings, app)
        asyncio.run(prepare_database(settings, spec.migrations))
        log.info("service_starting", port=settings.listen_port,
                 internal_port=settings.internal_listen_port)
        listeners.run(app, host=settings.host, public_port=settings.listen_port,
                      internal_port=settings.internal_listen_port, access_log=None,
                      shutdown_timeout=5)


async def _rebuild(spec: ServiceSpec, settings: ServiceSettings, name: str) -> None:
    projection = next(p for p in spec.projections if p.name == name)
    pool = await db.create_pool(settings.database_url)
    try:
        report = await rebuild(pool, EventStore(spec.name), projection)
        print(f"{report.projection}: {report.events} events in {report.seconds:.2f}s "
              f"({report.rate:,.0f}/s)")
    finally:
        await pool.close()
