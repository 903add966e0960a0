"""Login by password or face, refresh, logout, and the caller's own profile.

A session is a row; its access tokens (ES256 JWT, ~15 min, ``sid`` = session id) are not
stored; its refresh token (opaque, 256 bits) is stored as a SHA-256 and rotated on use. A
refresh token presented a second time means it was copied: every session of that
principal ends (``SessionsRevoked`` reason "other").
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.auth import Principal
from shared.errors import NotAuthenticated
from shared.lockout import LockState
from shared.logging import get_logger
from shared.people.elements import mask

from ..domain.accounts import Account
from ..domain.commands import FaceLogin, PasswordLogin, RefreshSession
from ..domain.errors import (
    AccountLocked,
    InvalidCredentials,
    InvalidRefreshToken,
    SessionEnded,
)
from ..domain.events import LoginLocked
from . import face_checks, proofing, throttle
from .context import Identity
from .revocation import end_all_sessions, end_session

log = get_logger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal

    def body(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer", "expires_in": self.expires_in,
                "principal": principal_view(self.principal)}


def principal_view(p: Principal) -> dict[str, Any]:
    view: dict[str, Any] = {"id": str(p.id), "role": p.role, "name": p.name}
    if p.enterprise_id is not None:
        view.update(enterprise_id=str(p.enterprise_id), enterprise_name=p.enterprise_name)
    if p.role == "agent":
        view["can_manage"] = bool(p.can_manage)
    return view


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def login_with_password(ctx: Identity, cmd: PasswordLogin, client_ip: str | None) -> Tokens:
    now = ctx.clock()
    await throttle.count_attempt(ctx, cmd.role, cmd.username, cmd.enterprise_uscc, client_ip, now)
    async with ctx.storage.connection() as repo:
        account = await repo.find_login(cmd.role, cmd.username, cmd.enterprise_uscc)
    if account is not None:
        until = ctx.lock_policy.locked_until(account.lock, now)
        if until is not None:
            raise AccountLocked(until)  # not even checked: a locked account guesses nothing
    if not await ctx.passwords.verify(account.password_hash if account else None, cmd.password):
        await throttle.count_failure(ctx, client_ip, now)
        if account is None:
            raise InvalidCredentials()
        await _count_wrong_password(ctx, account.id)
    assert account is not None
    account.ensure_may_log_in(ctx.today())
    if account.lock.failures:
        async with ctx.storage.connection() as repo:
            await repo.save_lock(account.id, LockState())
    await _rehash_if_outdated(ctx, account, cmd.password)
    return await start_session(ctx, account, "password", client_ip)


async def _rehash_if_outdated(ctx: Identity, account: Account, password: str) -> None:
    """A hash made with older Argon2 parameters is re-made now: only a login has the password."""
    if not ctx.passwords.needs_rehash(account.password_hash):
        return
    new_hash = await ctx.passwords.hash(password)
    async with ctx.storage.connection() as repo:
        await repo.replace_password_hash(account.id, account.password_hash, new_hash)
    log.info("password_rehashed", principal_id=str(account.id))


async def _count_wrong_password(ctx: Identity, account_id: uuid.UUID) -> None:
    """Record one failure on the locked row (concurrent failures all count); always raises."""
    now = ctx.clock()
    async with ctx.storage.transaction() as repo:
        account = await repo.get_account(account_id, for_update=True)
        assert account is not None
        state = ctx.lock_policy.after_failure(account.lock, now)
        if state.locked_until is not None and account.lock.locked_until != state.locked_until:
            await repo.append_login(account_id, [LoginLocked(principal_id=account_id,
                                                                  locked_until=state.locked_until)])
        await repo.save_lock(account_id, state)
    if state.locked_until is not None:
        raise AccountLocked(state.locked_until)
    raise InvalidCredentials(ctx.lock_policy.attempts_left(state, now))


async def login_with_face(ctx: Identity, cmd: FaceLogin, client_ip: str | None) -> Tokens:
    now = ctx.clock()
    await throttle.count_attempt(ctx, cmd.role, cmd.username, cmd.enterprise_uscc, client_ip, now)
    async with ctx.storage.connection() as repo:
        account = await repo.find_login(cmd.role, cmd.username, cmd.enterprise_uscc)
    if account is None:
        await throttle.count_failure(ctx, client_ip, now)
        raise InvalidCredentials()
    await face_checks.consume(ctx, cmd.face_token, account.id, "login")
    account.ensure_may_log_in(ctx.today())
    return await start_session(ctx, account, "face", client_ip)


async def start_session(ctx: Identity, account: Account, method: str, client_ip: str | None) -> Tokens:
    """Every login ends here: a person still ``pending_verification`` has the real-name
    check retried first (403 ``account_pending_verification`` while the provider is out)."""
    account = await proofing.ensure_verified_person(ctx, account)
    session_id, refresh = uuid.uuid4(), secrets.token_urlsafe(32)
    now = ctx.clock()
    async with ctx.storage.transaction() as repo:
        await repo.create_session(session_id, account.id, method, client_ip)
        await repo.add_refresh_token(_hash(refresh), session_id, now + _refresh_ttl(ctx))
    return _issue(ctx, account, session_id, refresh)


def _refresh_ttl(ctx: Identity) -> timedelta:
    return timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)


def _issue(ctx: Identity, account: Account, session_id: uuid.UUID, refresh: str) -> Tokens:
    now = ctx.clock()
    principal = account.principal(str(session_id), int(now.timestamp() * 1000))
    expires = account.access_expiry(now, timedelta(seconds=ctx.settings.access_token_ttl_seconds))
    token = ctx.signer.access_token(principal, now, expires)
    return Tokens(token, refresh, max(1, int((expires - now).total_seconds())), principal)


async def refresh(ctx: Identity, cmd: RefreshSession) -> Tokens:
    now, token_hash = ctx.clock(), _hash(cmd.refresh_token)
    new_refresh = secrets.token_urlsafe(32)
    async with ctx.storage.transaction() as repo:
        row = await repo.use_refresh_token(token_hash, now)
        if row is not None and row["revoked_at"] is None and row["expires_at"] > now:
            account = await repo.get_account(row["principal_id"])
            if account is None or account.removed:
                raise SessionEnded()
            account.ensure_may_log_in(ctx.today())
            await repo.add_refresh_token(_hash(new_refresh), row["session_id"], now + _refresh_ttl(ctx))
            return _issue(ctx, account, row["session_id"], new_refresh)
    if row is None:
        await _end_sessions_if_replayed(ctx, token_hash)
    raise InvalidRefreshToken()


async def _end_sessions_if_replayed(ctx: Identity, token_hash: bytes) -> None:
    async with ctx.storage.transaction() as repo:
        principal_id = await repo.replayed_refresh_token(token_hash)
        if principal_id is None:
            return
        await repo.get_account(principal_id, for_update=True)
        await end_all_sessions(ctx, repo, principal_id, "other")


async def logout(ctx: Identity, principal: Principal) -> None:
    session_id = _session_id(principal)
    async with ctx.storage.transaction() as repo:
        await repo.get_account(principal.id, for_update=True)
        await end_session(ctx, repo, principal.id, session_id)


class LiveSessions:
    """identity's ``SESSION_CHECK``: its sessions table is the truth, no event to wait for."""

    def __init__(self, ctx: Identity) -> None:
        self.ctx = ctx

    async def ensure_live(self, principal: Principal) -> None:
        try:
            session_id = uuid.UUID(principal.session_id or "")
        except ValueError:
            session_id = None
        if session_id is not None:
            async with self.ctx.storage.connection() as repo:
                if await repo.session_live(principal.id, session_id):
                    return
        raise NotAuthenticated("this session has ended; please log in again", code="token_revoked")


def _session_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.session_id or "")
    except ValueError:
        raise SessionEnded() from None


async def me(ctx: Identity, principal: Principal) -> dict[str, Any]:
    """The caller as identity knows it now; a token of an ended session gets 401 here too."""
    async with ctx.storage.connection() as repo:
        row = await repo.me(principal.id, _session_id(principal))
    if row is None:
        raise SessionEnded()
    body = principal_view(principal)
    body.update(phone_masked=mask(row["phone"]), certificate_status=row["certificate_status"],
                verification=row["verification"])
    if principal.enterprise_id is not None:
        body["enterprise_uscc"] = row["enterprise_uscc"]
    if principal.role == "agent":
        body.update(valid_from=str(row["valid_from"]), valid_to=str(row["valid_to"]),
                    can_manage=row["can_manage"])
    return body
