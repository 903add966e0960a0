"""The API gateway: routes /api/v1 to the owning services; checks tokens and revocations."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from shared import listeners, production, tracing
from shared.auth import TokenVerifier
from shared.http import add_readiness_check, create_app
from shared.logging import configure_logging, get_logger
from shared.revocations import RevocationFeed, RevocationList, identity_client
from shared.settings import ServiceSettings
from shared.upstreams import Replicas, keep_checking, with_path

from .asyncapi import serve_asyncapi
from .config import GatewaySettings
from .cors import ALLOWED_ORIGINS, add_cors_headers, cors
from .headers import framing_guard
from .limits import (
    BUCKETS,
    LIMITER,
    TRUSTED_PROXIES,
    RateLimiter,
    default_rules,
    local_buckets,
    rate_limit,
)
from .openapi import serve_document
from .proxy import GATEWAY_SETTINGS, GW_VERIFIER, REVOCATIONS, UPSTREAM, UPSTREAMS, forward
from .routes import ROUTES
from .shared_limits import SHARED_BUCKETS, SharedBuckets
from .static import setup_static

log = get_logger(__name__)
FEED = web.AppKey("revocation_feed", RevocationFeed)


def _shared_buckets(settings: GatewaySettings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        assert settings.redis_url is not None
        buckets = SharedBuckets(settings.redis_url, settings.redis_key_prefix, app[LIMITER])
        app[SHARED_BUCKETS] = buckets
        app[BUCKETS] = buckets.take
        yield
        await buckets.close()
    return context


def upstream_replicas(settings: ServiceSettings) -> dict[str, Replicas]:
    """Each routed service's replicas: public URLs, readiness asked on the internal ones."""
    return {svc: Replicas(settings.service_urls(svc), health_urls=settings.internal_urls(svc))
            for svc in sorted({r.service for r in ROUTES})}


def create_gateway(settings: GatewaySettings | None = None) -> web.Application:
    settings = settings or GatewaySettings()
    app = create_app(max_body_bytes=settings.max_body_bytes, middlewares=[framing_guard, cors, rate_limit])
    app[GATEWAY_SETTINGS] = settings
    app[ALLOWED_ORIGINS] = frozenset(o.strip() for o in settings.cors_origins.split(",") if o.strip())
    app[LIMITER] = RateLimiter(default_rules(settings.rate_limit_scale))
    app[BUCKETS] = local_buckets(app[LIMITER])
    if settings.redis_url:
        app.cleanup_ctx.append(_shared_buckets(settings))
    app[TRUSTED_PROXIES] = settings.trusted_proxies
    app.on_response_prepare.append(add_cors_headers)
    app[REVOCATIONS] = RevocationList()
    app[UPSTREAMS] = upstream_replicas(settings)  # a mismatched URL list fails here, not later

    async def upstream(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=2, sock_read=settings.upstream_timeout)
        app[UPSTREAM] = aiohttp.ClientSession(
            timeout=timeout, auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))
        checks = asyncio.create_task(
            keep_checking(list(app[UPSTREAMS].values()), app[UPSTREAM],
                          settings.upstream_check_interval), name="gateway-upstream-checks")
        app[GW_VERIFIER] = TokenVerifier(with_path(settings.internal_url("identity"), "/internal/jwks"),
                                         session=app[UPSTREAM])
        app[FEED] = RevocationFeed(app[REVOCATIONS], settings.amqp_url,
                                   identity_client(app[UPSTREAM], settings), name="gateway")

        async def revocations_synced() -> bool:  # not ready before the first resync
            return app[REVOCATIONS].synced

        add_readiness_check(app, "revocations", revocations_synced)

        async def upstreams_seen() -> bool:  # each replicated service seen ready once
            return all(r.seen_ready for r in app[UPSTREAMS].values())

        add_readiness_check(app, "upstreams", upstreams_seen)
        await app[FEED].start()
        yield
        await app[FEED].stop()
        checks.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checks
        await app[UPSTREAM].close()

    app.cleanup_ctx.append(upstream)
    app.router.add_get("/api/v1/openapi.json", serve_document)  # before the proxy's catch-all
    app.router.add_get("/api/v1/events/asyncapi.json", serve_asyncapi)
    app.router.add_route("*", "/api/v1/{tail:.*}", forward)
    setup_static(app, settings.web_dist)
    return app


def run(argv: list[str] | None = None) -> None:
    """``python -m gateway [serve|migrate]``: the gateway has no database, so ``migrate``
    (run by the same Job template as the services') only checks its settings and exits."""
    parser = argparse.ArgumentParser(prog="python -m gateway")
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "migrate"))
    args = parser.parse_args(argv)
    settings = production.load_settings(GatewaySettings)
    assert isinstance(settings, GatewaySettings)
    configure_logging("gateway", json=settings.log_json, level=settings.log_level)
    if args.command == "migrate":
        log.info("gateway_migrate", detail="the gateway has no database: nothing to migrate")
        return
    production.check_settings(settings)
    tracing.setup("gateway", endpoint=settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio)
    app = create_gateway(settings)
    production.check_app(settings, app)
    log.info("gateway_starting", url=f"http://{settings.host}:{settings.listen_port}",
             internal_port=settings.internal_listen_port)
    listeners.run(app, host=settings.host, public_port=settings.listen_port,
                  internal_port=settings.internal_listen_port, access_log=None, shutdown_timeout=5,
                  # a client that leaves cancels its forwarding: the upstream connection closes
                  # and the service stops the job (verification watches its connection)
                  handler_cancellation=True)
