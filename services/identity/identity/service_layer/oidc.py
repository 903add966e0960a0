"""统一身份认证 login: the third way to log in, through an external OpenID Connect provider.

``start`` keeps a one-time ``state`` (10 minutes), a ``nonce`` and a PKCE code verifier
in identity's database and answers the provider's authorization URL (S256 challenge).
``callback`` consumes the state once, has the provider's adapter exchange the code and
verify the ID token, then finds the account: the one the provider's subject is bound to,
or, on the first login, the person registered with the ID number the provider verified
(the binding is then made, and recorded as ``OidcIdentityBound``). The session is made as
for a password login (method ``oidc``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any

from shared.logging import get_logger
from shared.people.elements import normalize_id_number

from ..domain.accounts import Account
from ..domain.commands import OidcCallback
from ..domain.errors import (
    OidcAccountBound,
    OidcAccountNotFound,
    OidcDisabled,
    OidcLoginRefused,
    OidcStateInvalid,
    OidcStateUsed,
)
from ..domain.events import OidcIdentityBound
from . import throttle
from .context import Identity
from .ports import OidcBindingConflict, OidcProvider
from .sessions import Tokens, start_session

log = get_logger(__name__)

STATE_TTL = timedelta(minutes=10)


def status(ctx: Identity) -> dict[str, Any]:
    """What the login screen needs: whether to show the button, and its text."""
    enabled = ctx.oidc is not None
    return {"enabled": enabled, "display_name": ctx.settings.oidc_display_name if enabled else None}


def _provider(ctx: Identity) -> OidcProvider:
    if ctx.oidc is None:
        raise OidcDisabled()
    return ctx.oidc


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def start(ctx: Identity) -> dict[str, Any]:
    provider = _provider(ctx)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    url = await provider.authorization_url(state, nonce, code_challenge(verifier))
    async with ctx.storage.connection() as repo:
        await repo.insert_oidc_login(state, nonce, verifier, ctx.clock() + STATE_TTL)
    return {"authorization_url": url}


async def callback(ctx: Identity, cmd: OidcCallback, client_ip: str | None) -> Tokens:
    provider = _provider(ctx)
    now = ctx.clock()
    async with ctx.storage.connection() as repo:
        login = await repo.use_oidc_login(cmd.state, now)
        replayed = login is None and await repo.oidc_login_used(cmd.state)
    if login is None or login["expires_at"] <= now:
        await throttle.count_failure(ctx, client_ip, now)
        raise OidcStateUsed() if replayed else OidcStateInvalid()
    try:
        claims = await provider.exchange(cmd.code, login["code_verifier"], login["nonce"])
        account = await _account(ctx, provider.issuer, claims)
    except (OidcLoginRefused, OidcAccountNotFound):
        await throttle.count_failure(ctx, client_ip, now)
        raise
    account.ensure_may_log_in(ctx.today())
    return await start_session(ctx, account, "oidc", client_ip)


async def _account(ctx: Identity, issuer: str, claims: dict[str, Any]) -> Account:
    subject = str(claims["sub"])
    async with ctx.storage.connection() as repo:
        bound = await repo.oidc_binding(issuer, subject)
        account = await repo.get_account(bound) if bound is not None else None
    if bound is not None:
        if account is None or account.removed:
            raise OidcAccountNotFound()
        return account
    claim = claims.get(ctx.settings.oidc_id_number_claim)
    if not isinstance(claim, str) or not claim.strip():
        raise OidcLoginRefused("id_number_missing")
    return await _bind(ctx, issuer, subject, normalize_id_number(claim))


async def _bind(ctx: Identity, issuer: str, subject: str, id_number: str) -> Account:
    async with ctx.storage.transaction() as repo:
        person = await repo.find_person(id_number)
        if person is None:
            raise OidcAccountNotFound()
        account = await repo.get_account(person.id, for_update=True)  # bindings of one account in turn
        assert account is not None
        bound = await repo.oidc_binding(issuer, subject)  # by a concurrent login of the subject
        if bound is not None:
            other = await repo.get_account(bound)
            assert other is not None
            return other
        try:
            await repo.bind_oidc(issuer, subject, account.id)
        except OidcBindingConflict:
            raise OidcAccountBound() from None
        await repo.append_login(account.id, [OidcIdentityBound(principal_id=account.id, issuer=issuer,
                                                               subject=subject)])
    log.info("oidc_identity_bound", principal_id=str(account.id), issuer=issuer)
    return account
