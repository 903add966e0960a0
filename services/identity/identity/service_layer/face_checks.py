"""Face checks: start one (for the caller, or anonymously to log in), take the provider's
verdict (fetched server-side from providers that keep it, ``fetch_result``), and redeem the
resulting token once (identity's face login, or another service through
``POST /internal/face-tokens/consume``).

The token is 256 random bits shown once; only its SHA-256 is kept. Redeeming locks the
check's row, so two concurrent uses of one token cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from shared.people.fields import field_error

from ..domain import face
from ..domain.commands import StartFaceCheck
from ..domain.errors import FaceCheckNotFound, FaceTokenInvalid, rfc3339
from ..domain.face import FacePerson
from .context import Identity
from .ports import IdentityRepository


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _person(ctx: Identity, subject_id: uuid.UUID | None) -> FacePerson | None:
    """The name and ID number the provider must find (an enterprise: its legal representative)."""
    if subject_id is None:
        return None
    async with ctx.storage.connection() as repo:
        account = await repo.get_account(subject_id)
    if account is None or not account.id_number:
        return None
    name = account.legal_representative_name if account.role == "enterprise" else account.name
    return FacePerson(name or account.name, account.id_number)


async def start(ctx: Identity, subject_id: uuid.UUID | None, purpose: face.Purpose) -> dict[str, Any]:
    check = face.start(uuid.uuid4(), subject_id, purpose, ctx.clock(), ctx.face_ttl)
    begun = await ctx.faces.begin(check, await _person(ctx, subject_id))
    check = replace(check, provider_ref=begun.provider_ref)
    async with ctx.storage.connection() as repo:
        await repo.insert_face_check(check)
    return {"face_check_id": str(check.id), "expires_at": rfc3339(check.expires_at),
            "purpose": purpose, **begun.client}


async def fetch_result(ctx: Identity, check_id: uuid.UUID) -> dict[str, Any]:
    """Back from the provider's page: its verdict, fetched server-side with the reference kept
    at the start and matched to the subject's name and ID number. A pending check stays
    pending; a finished one answers its status (its token was shown once, when it passed)."""
    async with ctx.storage.connection() as repo:
        check = await repo.face_check_for_update(check_id)
    if check is None:
        raise FaceCheckNotFound("no such face check")
    if check.status != "pending":
        return {"face_check_id": str(check_id), "status": check.status}
    verdict = await ctx.faces.result(check, await _person(ctx, check.subject_id))
    if verdict == "pending":
        return {"face_check_id": str(check_id), "status": "pending"}
    token = await record_verdict(ctx, check_id, verdict == "passed")
    return {"face_check_id": str(check_id), "status": verdict, **({"face_token": token} if token else {})}


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
        return await consume_in(ctx, repo, token, subject_id, purpose)


async def consume_in(ctx: Identity, repo: IdentityRepository, token: str, subject_id: uuid.UUID,
                     purpose: str) -> face.FaceCheck:
    """``consume`` inside the caller's unit of work (the token is used only if it commits)."""
    check = await repo.face_check_by_token(_hash(token))
    if check is None:
        raise FaceTokenInvalid()
    used = face.redeem(check, subject_id, purpose, ctx.clock())
    await repo.save_face_check(used)
    return used
