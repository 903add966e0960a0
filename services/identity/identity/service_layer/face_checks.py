"""Face checks: start one (for the caller, or anonymously to log in), take the provider's
verdict, and redeem the resulting token once (identity's face login, or another service
through ``POST /internal/face-tokens/consume``).

The token is 256 random bits shown once; only its SHA-256 is kept. Redeeming locks the
check's row, so two concurrent uses of one token cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from shared.people.fields import field_error

from ..domain import face
from ..domain.commands import StartFaceCheck
from ..domain.errors import FaceCheckNotFound, FaceTokenInvalid, rfc3339
from .context import Identity


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start(ctx: Identity, subject_id: uuid.UUID | None, purpose: face.Purpose) -> dict[str, Any]:
    check = face.start(uuid.uuid4(), subject_id, purpose, ctx.clock(), ctx.face_ttl)
    provider_info = await ctx.faces.begin(check)
    async with ctx.storage.connection() as repo:
        await repo.insert_face_check(check)
    return {"face_check_id": str(check.id), "expires_at": rfc3339(check.expires_at),
            "purpose": purpose, **provider_info}


async def start_for_login(ctx: Identity, cmd: StartFaceCheck) -> dict[str, Any]:
    """Anonymous: the subject is whoever the username designates (maybe nobody)."""
    if cmd.purpose != "login":
        raise field_error("purpose", "login_required",
                          "未登录时只能进行登录人脸验证 / only purpose login without a token")
    if cmd.role is None or cmd.username is None:
        field = "role" if cmd.role is None else "username"
        raise field_error(field, "missing", "登录人脸验证需提供角色和用户名 / role and username are required")
    async with ctx.storage.connection() as repo:
        account = await repo.find_login(cmd.role, cmd.username.upper(),
                                        cmd.enterprise_uscc.upper() if cmd.enterprise_uscc else None)
    return await start(ctx, account.id if account else None, "login")


async def record_verdict(ctx: Identity, check_id: uuid.UUID, passed: bool,
                         token_ttl: timedelta | None = None) -> str | None:
    """The provider's pass/fail; returns the single-use token of a passed check."""
    token = secrets.token_urlsafe(32) if passed else None
    async with ctx.storage.transaction() as repo:
        check = await repo.face_check_for_update(check_id)
        if check is None:
            raise FaceCheckNotFound("no such face check")
        done = face.complete(check, passed, ctx.clock(), min(token_ttl or ctx.face_ttl, ctx.face_ttl))
        await repo.save_face_check(done, _hash(token) if token else None)
    return token


async def consume(ctx: Identity, token: str, subject_id: uuid.UUID, purpose: str) -> face.FaceCheck:
    """Use the token once for ``subject_id`` doing ``purpose`` (or raise why not)."""
    async with ctx.storage.transaction() as repo:
        check = await repo.face_check_by_token(_hash(token))
        if check is None:
            raise FaceTokenInvalid()
        used = face.redeem(check, subject_id, purpose, ctx.clock())
        await repo.save_face_check(used)
    return used
