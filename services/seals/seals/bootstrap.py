"""Wiring of the seals service: settings, ports, spec, process entry point."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from aiohttp import web
from pydantic import Field

from shared import DB, STORE, ServiceSettings, ServiceSpec, build_app, client, main
from shared.logging import get_logger

from .adapters.images import Images
from .adapters.ports import CertificateAuthority, FaceTokens, PersonRegistry
from .adapters.remote import CertsClient, IdentityClient
from .entrypoints.http import DEPS, setup_routes
from .projections.directory import directory_handlers
from .projections.state import STATE
from .service_layer.common import Deps
from .service_layer.seals import retry_pending_revocations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = get_logger(__name__)


class SealsSettings(ServiceSettings):
    service_name: ClassVar[str] = "seals"

    # Handwritten signatures arrive as base64 JSON (a 2 MB PNG is ~2.7 MB of text): the body
    # limit stays above that so an oversized image is refused naming its field.
    max_body_bytes: int = 8 * 1024 * 1024
    render_concurrency: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2))
    agent_sync_wait: float = 3.0
    # certs is asked to sign inside the stamping transaction: never wait on it for long.
    certs_timeout: float = 10.0
    revocation_retry_interval: float = 5.0


@dataclass(frozen=True)
class Ports:
    face: FaceTokens
    persons: PersonRegistry
    ca: CertificateAuthority


Context = Callable[[web.Application], AsyncIterator[None]]


def _deps_context(settings: SealsSettings, ports: Callable[[web.Application], Ports] | None) -> Context:
    async def deps(app: web.Application) -> AsyncIterator[None]:
        if ports is not None:
            p = ports(app)
        else:
            identity = IdentityClient(client(app, "identity"))
            p = Ports(identity, identity, CertsClient(client(app, "certs", settings.certs_timeout)))
        app[DEPS] = Deps(pool=app[DB], store=app[STORE], face=p.face, persons=p.persons, ca=p.ca,
                         images=Images(concurrency=settings.render_concurrency),
                         agent_sync_wait=settings.agent_sync_wait)
        yield
        pending = list(app[DEPS].background)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return deps


def _revocation_retrier(settings: SealsSettings) -> Context:
    """Revokes seal certificates whose first attempt failed (certs was down)."""

    async def loop(app: web.Application) -> None:
        while True:
            await asyncio.sleep(settings.revocation_retry_interval)
            try:
                await retry_pending_revocations(app[DEPS])
            except Exception as exc:  # noqa: BLE001 - keep retrying; the rows stay pending
                log.warning("revocation_retry_failed", error=repr(exc)[:300])

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(loop(app), name="seals-revocation-retrier")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


SPEC = ServiceSpec(name="seals", migrations=MIGRATIONS, setup_routes=setup_routes,
                   handlers=lambda app: directory_handlers(), projections=(STATE,))


def create_app(settings: SealsSettings | None = None, *,
               ports: Callable[[web.Application], Ports] | None = None,
               consume: bool = True, publish: bool = True) -> web.Application:
    """The service; tests pass fake ``ports`` and may leave out the broker (consume/publish)."""
    settings = settings or SealsSettings()
    spec = replace(SPEC, handlers=SPEC.handlers if consume else None, publishes=publish,
                   contexts=(_deps_context(settings, ports), _revocation_retrier(settings)))
    return build_app(spec, settings)


def run() -> None:
    main(SPEC, SealsSettings, lambda s: create_app(s))  # type: ignore[arg-type]
