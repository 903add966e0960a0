"""Login rate limits, counted in identity's database so that every replica sees them.

Keys never hold a username in clear (it may be an ID number): a SHA-256 of it is counted.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.errors import RateLimited

from ..domain.throttle import Window
from .context import Identity


def _username_key(role: str, username: str, enterprise_uscc: str | None) -> str:
    digest = hashlib.sha256(f"{role}|{enterprise_uscc or ''}|{username}".encode()).hexdigest()
    return f"user:{digest}"


def _ip_key(ip: str) -> str:
    return f"ip:{ip}"


def _refuse(window: Window, now: datetime, what: str) -> RateLimited:
    retry = window.retry_after(now)
    return RateLimited(f"登录尝试过于频繁，请 {retry} 秒后再试 / too many login attempts {what};"
                       f" retry in {retry} s", retry_after=retry, code="too_many_attempts")


async def count_attempt(ctx: Identity, role: str, username: str, enterprise_uscc: str | None,
                        client_ip: str | None, now: datetime) -> None:
    """Count this attempt for the username; refuse it (429) if either limit is used up."""
    uw, iw = ctx.username_window, ctx.ip_window
    async with ctx.storage.connection() as repo:
        if client_ip and iw.exceeded(await repo.current_count(_ip_key(client_ip), iw.start(now)) + 1):
            raise _refuse(iw, now, "from this address")
        count = await repo.count_hit(_username_key(role, username, enterprise_uscc), uw.start(now))
    if uw.exceeded(count):
        raise _refuse(uw, now, "for this account")


async def count_failure(ctx: Identity, client_ip: str | None, now: datetime) -> None:
    if client_ip:
        async with ctx.storage.connection() as repo:
            await repo.count_hit(_ip_key(client_ip), ctx.ip_window.start(now))
