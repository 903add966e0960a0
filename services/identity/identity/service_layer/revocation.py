"""Ending sessions: the DB rows die at once (identity's own checks), and a
``SessionsRevoked`` event tells the gateway, which then refuses the tokens already out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from shared.catalog import SessionsRevoked
from shared.events import DomainEvent

from .context import Identity
from .ports import IdentityRepository


async def end_all_sessions(ctx: Identity, repo: IdentityRepository, principal_id: uuid.UUID,
                           reason: str, with_events: Sequence[DomainEvent] = ()) -> None:
    """Every token of the principal issued until now dies (caller holds the account lock)."""
    now = ctx.clock()
    revoked = SessionsRevoked(principal_id=principal_id, revoked_before=now, reason=reason)  # type: ignore[arg-type]
    await repo.append_login(principal_id, [*with_events, revoked])
    await repo.revoke_sessions_of(principal_id, now)


async def end_session(ctx: Identity, repo: IdentityRepository, principal_id: uuid.UUID,
                      session_id: uuid.UUID) -> None:
    """Logout: this session only (caller holds the account lock)."""
    now = ctx.clock()
    if await repo.revoke_session(session_id, now):
        revoked = SessionsRevoked(principal_id=principal_id, revoked_before=now, reason="logout",
                                  session_id=str(session_id))
        await repo.append_login(principal_id, [revoked])
