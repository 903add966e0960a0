"""Wiring of the certs service: ports, the CA at start-up, the process entry point
(settings in ``config.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
from aiohttp import web

from shared import ServiceSpec, build_app, db, main
from shared.http import add_provider, add_readiness_check
from shared.logging import get_logger
from shared.service import DB, HTTP, SETTINGS, STORE
from shared.unit_of_work import Database

from .adapters.authority import CertificateAuthority, CrlUrls, load_or_create
from .adapters.clock import SystemClock
from .adapters.crypto.keywrap import MasterKey
from .adapters.directory import IdentityDirectory
from .adapters.faces import IdentityFaceChecks
from .adapters.keys import KeyCustody
from .adapters.sm2 import Sm2Authority
from .adapters.sm2 import load_or_create as load_or_create_sm2
from .adapters.sms import (
    HttpSmsGateway,
    SandboxSms,
    SmsDeliveries,
    TencentSms,
    run_delivery_pulls,
    tencent_sms,
)
from .config import CertsSettings, kdf_params, master_key
from .domain import ActivationCodePolicy
from .entrypoints.appkeys import CERTS, CERTS_READY, SANDBOX_CLOCK, SANDBOX_SMS
from .entrypoints.consumers import handlers
from .entrypoints.http import setup_routes, setup_sandbox_routes
from .projections.certificates import CertificatesProjection
from .service_layer import crl, expiry
from .service_layer.context import Certs
from .service_layer.ports import Clock, FaceChecks, PrincipalDirectory, SmsSender

log = get_logger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Ports:
    """Adapters to use instead of the configured ones (tests)."""

    directory: Callable[[web.Application], PrincipalDirectory] | None = None
    sms: SmsSender | None = None
    clock: Clock | None = None
    faces: Callable[[web.Application], FaceChecks] | None = None


async def _sms(app: web.Application, settings: CertsSettings) -> tuple[SmsSender, asyncpg.Pool | None]:
    """The SMS sender, and the sandbox's own pool to close at shutdown (if any)."""
    if settings.sms_provider == "tencent":
        # Its own connections, as the sandbox's (below): a send records its SerialNo while
        # the code's transaction holds one of the main pool's.
        deliveries_pool = await db.create_pool(settings.database_url, min_size=0, max_size=2)
        sender = tencent_sms(app[HTTP], settings, SmsDeliveries(deliveries_pool))
        add_provider(app, "sms", sender.describe())
        return sender, deliveries_pool
    add_provider(app, "sms", {"provider": settings.sms_provider})
    if settings.sms_provider == "http":
        if not settings.sms_url or settings.sms_api_key is None:
            raise RuntimeError("ESEAL_SMS_PROVIDER=http needs ESEAL_SMS_URL and ESEAL_SMS_API_KEY")
        return HttpSmsGateway(app[HTTP], settings.sms_url, settings.sms_api_key.get_secret_value()), None
    if settings.is_production:
        SandboxSms(app[DB], production=True)  # refuses production (raises)
    # Its own connections: send_code sends while holding one of the main pool's (the code's
    # transaction), so recording the message through that pool deadlocks once every
    # connection is held by a send waiting for one more (seen with a replica down: all
    # activations on the survivor).
    pool = await db.create_pool(settings.database_url, min_size=0, max_size=1)
    sandbox = SandboxSms(pool, production=settings.is_production)
    app[SANDBOX_SMS] = sandbox
    return sandbox, pool


def _context(settings: CertsSettings, master: MasterKey, ports: Ports
             ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def certs_context(app: web.Application) -> AsyncIterator[None]:
        clock = ports.clock or app.get(SANDBOX_CLOCK) or SystemClock()
        urls = CrlUrls.under(settings.public_base_url)
        async with app[DB].acquire() as conn:
            material, created = await load_or_create(conn, master, clock.now(), urls)
            sm2_material, sm2_created = await load_or_create_sm2(conn, master)
        sms, sms_pool = (ports.sms, None) if ports.sms else await _sms(app, settings)
        certs = Certs(
            db=Database(app[DB], app[STORE], (CertificatesProjection(),)), clock=clock,
            authority=CertificateAuthority(material, urls, clock),
            keys=KeyCustody(master, kdf_params(settings)),
            directory=ports.directory(app) if ports.directory else IdentityDirectory(app),
            sms=sms,
            codes=ActivationCodePolicy(hash_key=master.derive_key("activation-code-hash")),
            sm2=Sm2Authority(sm2_material),
            faces=ports.faces(app) if ports.faces else IdentityFaceChecks(app),
            seal_renewal=timedelta(days=settings.seal_renewal_days),
        )
        app[CERTS] = certs
        await crl.current(certs, "issuing")
        await crl.current(certs, "root")
        await crl.current(certs, "sm2_issuing")
        app[CERTS_READY].set()

        async def ca_loaded() -> bool:
            return app[CERTS_READY].is_set()

        add_readiness_check(app, "ca", ca_loaded)
        log.info("ca_ready", created=created, sm2_created=sm2_created,
                 kdf_memory_kib=certs.keys.kdf.memory_cost, kdf_time_cost=certs.keys.kdf.time_cost)
        reminders = asyncio.create_task(expiry.run_reminders(certs), name="certs-expiry-reminders")
        pulls = asyncio.create_task(run_delivery_pulls(sms, settings.tencent_sms_pull_interval),
                                    name="certs-sms-delivery-pulls") if isinstance(sms, TencentSms) else None
        yield
        if pulls is not None:
            pulls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pulls
        reminders.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reminders
        if sms_pool is not None:
            await sms_pool.close()

    return certs_context


def make_spec(settings: CertsSettings, ports: Ports | None = None, *,
              messaging: bool = True) -> ServiceSpec:
    ports = ports or Ports()
    master = master_key(settings)
    sandbox = not settings.is_production

    def routes(app: web.Application) -> None:
        app[CERTS_READY] = asyncio.Event()
        if sandbox:
            given = ports.clock
            app[SANDBOX_CLOCK] = given if isinstance(given, SystemClock) else SystemClock()
        setup_routes(app)
        if sandbox:
            setup_sandbox_routes(app, sms=settings.sms_provider == "sandbox" and ports.sms is None)

    return ServiceSpec(
        name="certs", migrations=MIGRATIONS, setup_routes=routes,
        handlers=handlers if messaging else None, publishes=messaging,
        projections=(CertificatesProjection(),),
        contexts=(_context(settings, master, ports),),
    )


SPEC = ServiceSpec(name="certs", migrations=MIGRATIONS, setup_routes=setup_routes,
                   projections=(CertificatesProjection(),))


def create_app(settings: CertsSettings | None = None, ports: Ports | None = None, *,
               messaging: bool = True) -> web.Application:
    settings = settings or CertsSettings()
    kdf_params(settings)  # refuse a bad configuration before serving
    return build_app(make_spec(settings, ports, messaging=messaging), settings)


def run() -> None:
    main(SPEC, CertsSettings, lambda s: create_app(s))  # type: ignore[arg-type]


__all__ = ["SETTINGS", "CertsSettings", "Ports", "create_app", "make_spec", "run"]  # settings: config.py
