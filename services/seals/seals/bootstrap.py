"""Wiring of the seals service: ports, context, spec, process entry point (settings: config.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from shared import DB, STORE, ServiceSpec, build_app, client, main
from shared.logging import get_logger
from shared.unit_of_work import Database

from .adapters.images import Images
from .adapters.remote import CertsClient, IdentityClient
from .adapters.repository import PgSealStorage
from .config import SealsSettings
from .entrypoints.http import setup_routes
from .entrypoints.support import CONTEXT
from .projections.certificates import certificate_handlers
from .projections.directory import directory_handlers
from .projections.state import STATE
from .service_layer.context import Seals
from .service_layer.ports import CertificateAuthority, FaceTokens, PersonRegistry
from .service_layer.seals import retry_pending_revocations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = get_logger(__name__)


@dataclass(frozen=True)
class Ports:
    face: FaceTokens
    persons: PersonRegistry
    ca: CertificateAuthority


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def _wiring(settings: SealsSettings, ports: Callable[[web.Application], Ports] | None) -> CleanupContext:
    async def context(app: web.Application) -> AsyncIterator[None]:
        if ports is not None:
            p = ports(app)
        else:
            identity = IdentityClient(client(app, "identity"))
            p = Ports(identity, identity, CertsClient(client(app, "certs", settings.certs_timeout)))
        storage = PgSealStorage(Database(app[DB], app[STORE], (STATE,)))
        app[CONTEXT] = Seals(storage=storage, face=p.face, persons=p.persons, ca=p.ca,
                             images=Images(concurrency=settings.render_concurrency),
                             agent_sync_wait=settings.agent_sync_wait)
        yield
        pending = list(app[CONTEXT].background)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return context


def _revocation_retrier(settings: SealsSettings) -> CleanupContext:
    """Revokes seal certificates whose first attempt failed (certs was down)."""

    async def loop(app: web.Application) -> None:
        while True:
            await asyncio.sleep(settings.revocation_retry_interval)
            try:
                await retry_pending_revocations(app[CONTEXT])
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
                   handlers=lambda app: directory_handlers() | certificate_handlers(), projections=(STATE,))


def create_app(settings: SealsSettings | None = None, *,
               ports: Callable[[web.Application], Ports] | None = None,
               consume: bool = True, publish: bool = True) -> web.Application:
    """The service; tests pass fake ``ports`` and may leave out the broker (consume/publish)."""
    settings = settings or SealsSettings()
    spec = replace(SPEC, handlers=SPEC.handlers if consume else None, publishes=publish,
                   contexts=(_wiring(settings, ports), _revocation_retrier(settings)))
    return build_app(spec, settings)


def run() -> None:
    main(SPEC, SealsSettings, lambda s: create_app(s))  # type: ignore[arg-type]
