"""Wiring of the stamping service: settings, ports, background workers, process entry point.

``python -m stamping`` serves (after migrating); besides the common subcommands
(``migrate``, ``rebuild-projection``) it has the ops commands for relying systems:
``create-client --name NAME``, ``list-clients``, ``disable-client CLIENT_ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from pyhanko.sign.timestamps import TimeStamper

from shared import DB, SETTINGS, STORE, ServiceSpec, build_app, client, main
from shared.webhooks import GuardedSender

from .adapters.certs import CertsHttp, CertsTimeStamper
from .adapters.credentials import ClientTokens
from .adapters.loops import PdfWorkers
from .adapters.seals import SealsHttp
from .adapters.verifier import VerificationWorkers
from .config import StampingSettings
from .entrypoints.http import STAMPING, setup_routes
from .projections import PROJECTIONS
from .service_layer import callbacks, expiry
from .service_layer.context import Stamping
from .service_layer.ports import (
    CaMaterial,
    PlatformCertificates,
    PrincipalSigner,
    SealAuthority,
    SealCertificates,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Ports:
    """What stamping needs from other services (fakes in tests)."""

    seals: SealAuthority
    signer: PrincipalSigner
    ca: CaMaterial
    timestamper: TimeStamper
    seal_certificates: SealCertificates
    platform: PlatformCertificates | None = None  # the evidence report's signer (certs)


def http_ports(app: web.Application) -> Ports:
    s: StampingSettings = app[SETTINGS]  # type: ignore[assignment]
    certs = CertsHttp(client(app, "certs", timeout=15.0), ca_cache_seconds=s.stamping_ca_cache_seconds)
    return Ports(seals=SealsHttp(client(app, "seals")), signer=certs, ca=certs, seal_certificates=certs,
                 platform=certs,
                 timestamper=CertsTimeStamper(client(app, "certs"), asyncio.get_running_loop()))


Context = Callable[[web.Application], AsyncIterator[None]]


def _wiring(make_ports: Callable[[web.Application], Ports]) -> Context:
    async def stamping_context(app: web.Application) -> AsyncIterator[None]:
        s: StampingSettings = app[SETTINGS]  # type: ignore[assignment]
        ports = make_ports(app)
        workers = PdfWorkers(s.stamping_pdf_threads, s.stamping_pdf_deadline_seconds,
                             processes=s.stamping_pdf_processes,
                             jobs_per_process=s.stamping_pdf_jobs_per_process)
        await workers.start()
        verifier = VerificationWorkers(s.verification_processes, queue=s.verification_queue,
                                       deadline_seconds=s.verification_deadline_seconds)
        app[STAMPING] = Stamping(
            pool=app[DB], store=app[STORE], settings=s, seals=ports.seals, signer=ports.signer,
            ca=ports.ca, timestamper=ports.timestamper, workers=workers,
            tokens=ClientTokens(s.client_token_key, s.stamping_client_token_ttl_seconds),
            verifier=verifier, seal_certificates=ports.seal_certificates, platform=ports.platform)
        try:
            yield
        finally:
            workers.close()
            verifier.close()

    return stamping_context


async def background(app: web.Application) -> AsyncIterator[None]:
    """The expiry sweeper and the callback worker (every replica runs both; both are safe)."""
    ctx = app[STAMPING]
    s = ctx.settings
    # relying systems may register plain http callback URLs (checked when the request is made)
    sender = GuardedSender(allow_private=s.callbacks_may_reach_private_addresses,
                           timeout=s.stamping_callback_timeout, https_only=False,
                           connect_timeout=min(5.0, s.stamping_callback_timeout))
    tasks = [asyncio.create_task(expiry.run_sweeper(ctx), name="stamping-expiry"),
             asyncio.create_task(callbacks.run_worker(ctx, sender), name="stamping-callbacks")]
    yield
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t
    await sender.close()


def spec(make_ports: Callable[[web.Application], Ports] = http_ports) -> ServiceSpec:
    return ServiceSpec(name="stamping", migrations=MIGRATIONS, setup_routes=setup_routes,
                       projections=PROJECTIONS, contexts=(_wiring(make_ports), background))


SPEC = spec()


def create_app(settings: StampingSettings | None = None,
               ports: Callable[[web.Application], Ports] | None = None) -> web.Application:
    return build_app(spec(ports) if ports else SPEC, settings or StampingSettings())


def run() -> None:
    from .entrypoints import cli

    if cli.handles_argv():
        cli.main()
        return
    main(SPEC, StampingSettings, lambda s: create_app(s))  # type: ignore[arg-type,return-value]


__all__ = ["MIGRATIONS", "Ports", "SPEC", "StampingSettings", "create_app", "run"]
