"""Wiring of the identity service: settings, spec, process entry point."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from shared import ServiceSpec, build_app, main
from shared.auth import SESSION_CHECK, VERIFIER, TokenVerifier
from shared.http import add_provider
from shared.logging import get_logger
from shared.service import DB, HTTP, SETTINGS, STORE
from shared.unit_of_work import Database
from shared.upstreams import with_path

from .adapters.face_provider import face_provider, tencent_face_provider
from .adapters.oidc import OidcClient
from .adapters.passwords import FAST_TEST_PARAMS, PRODUCTION_PARAMS, Argon2Passwords
from .adapters.proofing import business_registry, realname_verifier, tencent_realname, tencent_registry
from .adapters.repository import PgIdentityStorage
from .adapters.signing import KeySealer, TokenSigner, load_or_create_keys
from .config import IdentitySettings
from .entrypoints.consumers import handlers
from .entrypoints.http import setup_routes
from .entrypoints.requests import IDENTITY
from .projections.revocations import RevocationsProjection
from .service_layer.context import Identity, utc_now
from .service_layer.sessions import LiveSessions

__all__ = ["SPEC", "IdentitySettings", "create_app", "run"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = get_logger(__name__)
_HOUSEKEEPING_SECONDS = 600


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """Keys, hasher, face provider; then the token verifier over identity's own keys."""
    settings = app[SETTINGS]
    assert isinstance(settings, IdentitySettings)
    settings.check_production()
    sealer = KeySealer(settings.master_key_bytes())
    storage = PgIdentityStorage(Database(app[DB], app[STORE], (RevocationsProjection(),)))
    async with storage.transaction() as repo:
        keys = await load_or_create_keys(repo, sealer)
    signer = TokenSigner(keys)
    params = FAST_TEST_PARAMS if settings.test_fast_kdf else PRODUCTION_PARAMS
    faces = face_provider(settings.face_provider, settings.env,
                          tencent=lambda: tencent_face_provider(app[HTTP], settings))
    describe = getattr(faces, "describe", None)
    add_provider(app, "face", describe() if describe else {"provider": faces.name})
    oidc = _oidc_client(settings, app[HTTP])
    add_provider(app, "oidc", {"provider": "oidc", "issuer": settings.oidc_issuer or "",
                               "client_id": settings.oidc_client_id or ""}
                 if oidc else {"provider": "none"})
    realname = realname_verifier(settings.realname_provider, settings.env, settings.sandbox_realname_reject,
                                 tencent=lambda: tencent_realname(app[HTTP], settings))
    registry = business_registry(settings.registry_provider, settings.env, settings.sandbox_registry_reject,
                                 tencent=lambda: tencent_registry(app[HTTP], settings))
    for port, chosen in (("realname", realname), ("registry", registry)):
        describe_port = getattr(chosen, "describe", None)
        add_provider(app, port, describe_port() if describe_port else {"provider": chosen.name})
    app[IDENTITY] = Identity(storage=storage, passwords=Argon2Passwords(params),
                             signer=signer, faces=faces,
                             settings=settings, person_key_secret=settings.keyed_hash_key(), oidc=oidc,
                             realname=realname, registry=registry)
    # identity verifies its own tokens with the keys it holds: no JWKS round trip to itself.
    verifier = TokenVerifier(with_path(settings.internal_url("identity"), "/internal/jwks"))
    for key in keys:
        verifier.add_jwk(key.jwk)
    app[VERIFIER] = verifier
    app[SESSION_CHECK] = LiveSessions(app[IDENTITY])  # its own table: no event to wait for
    task = asyncio.create_task(_housekeeping(storage), name="identity-housekeeping")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _oidc_client(settings: IdentitySettings, http: aiohttp.ClientSession) -> OidcClient | None:
    """统一身份认证 login when ESEAL_OIDC_ISSUER is set (check_production refused a half setup)."""
    if not settings.oidc_enabled:
        return None
    secret = settings.oidc_secret()
    assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_uri and secret
    log.info("oidc_login_enabled", issuer=settings.oidc_issuer, client_id=settings.oidc_client_id)
    return OidcClient(http, settings.oidc_issuer, settings.oidc_client_id, secret,
                      settings.oidc_redirect_uri, settings.oidc_scopes)


async def _housekeeping(storage: PgIdentityStorage) -> None:
    while True:
        await asyncio.sleep(_HOUSEKEEPING_SECONDS)
        try:
            async with storage.connection() as repo:
                await repo.purge_expired(utc_now())
        except Exception as exc:  # noqa: BLE001 - retried at the next round
            log.warning("housekeeping_failed", error=repr(exc))


SPEC = ServiceSpec(name="identity", migrations=MIGRATIONS, setup_routes=setup_routes,
                   handlers=handlers, projections=(RevocationsProjection(),),
                   verifies_tokens=False, contexts=(identity_context,))


def create_app(settings: IdentitySettings | None = None) -> web.Application:
    return build_app(SPEC, settings or IdentitySettings())


def run() -> None:
    main(SPEC, IdentitySettings, lambda s: create_app(s))  # type: ignore[arg-type]
