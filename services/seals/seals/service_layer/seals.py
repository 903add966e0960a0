"""我的印章: the seal types, previews, applying for a seal, listing, revoking (作废)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.auth import Principal
from shared.errors import EsealError
from shared.logging import get_logger

from ..adapters.images import sha256_hex
from ..adapters.remote import CERT_REVOCATION_REASON
from ..adapters.rendering import SEAL_TYPES, RenderError, SealType, default_seal_name, seal_type
from ..adapters.rendering.seal_renderer import normalize_name
from ..domain import errors
from ..domain import seal as seal_rules
from ..domain.access import Operator, enterprise_of
from .context import Seals, cursor_position
from .operators import enterprise_info, operator
from .ports import EnterpriseInfo, Page, SealCertificate, SealCertificateRequest, SealRow
from .problems import image_problem, rendered

log = get_logger(__name__)


@dataclass(frozen=True)
class SealTypeView:
    kind: SealType
    default_name: str | None


async def seal_types(ctx: Seals, principal: Principal | None) -> list[SealTypeView]:
    """The catalogue; with the caller's enterprise, the name each type would get by default."""
    info = None
    if principal is not None and principal.acts_for_enterprise:
        try:
            info = await enterprise_info(ctx, enterprise_of(principal))
        except EsealError as err:  # the catalogue is still worth answering without defaults
            log.warning("default_names_unavailable", problem_code=err.code)
    return [SealTypeView(kind, _default_name(kind, info) if info else None)
            for kind in SEAL_TYPES.values()]


def _default_name(kind: SealType, info: EnterpriseInfo) -> str | None:
    try:
        return default_seal_name(info.name, kind.code,
                                 legal_representative=info.legal_representative_name)
    except RenderError:
        return None


def _kind(type_code: str) -> SealType:
    try:
        return seal_type(type_code)
    except RenderError as err:
        raise image_problem(err, "type") from None


def seal_name(kind: SealType, requested: str | None, info: EnterpriseInfo) -> str:
    """The name a seal gets: as asked (or the default), normalized.

    A legal representative's seal (法定代表人名章) carries the legal representative's own
    name: any other name is refused (422 legal_representative_mismatch).
    """
    try:
        if kind.shape == "square":
            legal = normalize_name(info.legal_representative_name)
            if requested is not None and normalize_name(requested) != legal:
                raise errors.LegalRepresentativeMismatch()
            return legal
        if requested is None:
            return normalize_name(default_seal_name(info.name, kind.code))
        return normalize_name(requested)
    except RenderError as err:
        raise image_problem(err, "name") from None


async def _image(ctx: Seals, kind: SealType, name: str, info: EnterpriseInfo) -> bytes:
    uscc = info.uscc if kind.shape == "oval" else None
    return await rendered(ctx.images.seal(kind.code, name, uscc), "name")


async def preview(ctx: Seals, principal: Principal, type_code: str, name: str | None) -> bytes:
    """The image a seal would get; nothing is created."""
    op = await operator(ctx, principal, manage=False)
    kind = _kind(type_code)
    info = await enterprise_info(ctx, op.enterprise_id)
    return await _image(ctx, kind, seal_name(kind, name, info), info)


async def issue(ctx: Seals, principal: Principal, type_code: str, name: str | None,
                face_token: str) -> SealRow:
    """生成印章. Checks in order of cost: permission, input, certificate, type free; then the
    face token is used up and, under a per-(enterprise, type) lock, the seal certificate is
    made and the seal recorded. The unique index on active seals is the final arbiter."""
    op = await operator(ctx, principal, manage=True)
    kind = _kind(type_code)
    info = await enterprise_info(ctx, op.enterprise_id)
    final_name = seal_name(kind, name, info)
    png = await _image(ctx, kind, final_name, info)
    if await ctx.ca.certificate_status(principal.id) not in ("active", "locked"):
        raise errors.CertificateRequired()
    async with ctx.storage.connection() as repo:
        if await repo.active_seal_of_type(op.enterprise_id, kind.code):
            raise errors.SealTypeTaken(kind.code)
    await ctx.face.consume(face_token, principal.id, "issue_seal")
    return await _record_new_seal(ctx, op, kind, final_name, png, info)


async def _record_new_seal(ctx: Seals, op: Operator, kind: SealType, name: str, png: bytes,
                           info: EnterpriseInfo) -> SealRow:
    seal_id = uuid.uuid4()
    certificate: SealCertificate | None = None
    try:
        async with ctx.storage.transaction() as repo:
            # Concurrent applications for one type queue here; the loser sees the winner's
            # seal and leaves before a certificate is made for nothing.
            await repo.lock_seal_type(op.enterprise_id, kind.code)
            if await repo.active_seal_of_type(op.enterprise_id, kind.code):
                raise errors.SealTypeTaken(kind.code)
            certificate = await ctx.ca.issue_seal_certificate(SealCertificateRequest(
                seal_id=seal_id, enterprise_id=op.enterprise_id, enterprise_name=info.name,
                enterprise_uscc=info.uscc, seal_name=name, seal_type=kind.code,
                seal_type_label=kind.label))
            digest = sha256_hex(png)
            event = seal_rules.issue_seal(seal_id=seal_id, enterprise_id=op.enterprise_id,
                                          type_code=kind.code, name=name, image_sha256=digest,
                                          certificate_serial=certificate.serial_number,
                                          issued_by=op.principal_id)
            await repo.append(seal_id, "seal", 0, [event], op.principal_id)  # or SealTypeTaken
            await repo.insert_seal_blobs(seal_id, png, digest, certificate)
            row = await repo.get_seal(seal_id)
    except BaseException:
        await _orphaned(ctx, seal_id, certificate)
        raise
    assert row is not None
    log.info("seal_issued", seal_id=str(seal_id), enterprise_id=str(op.enterprise_id),
             type=kind.code, by=str(op.principal_id))
    return row


async def _orphaned(ctx: Seals, seal_id: uuid.UUID, certificate: SealCertificate | None) -> None:
    """A seal certificate was made but the seal was not recorded: have it revoked."""
    if certificate is None:
        return
    log.warning("seal_certificate_orphaned", seal_id=str(seal_id))
    async with ctx.storage.connection() as repo:
        await repo.add_pending_revocation(seal_id, CERT_REVOCATION_REASON)
    ctx.spawn(revoke_certificate(ctx, seal_id))


async def owned_seal(ctx: Seals, op: Operator, seal_id: uuid.UUID) -> SealRow:
    """The seal if it belongs to the operator's enterprise; another's is a plain 404."""
    async with ctx.storage.connection() as repo:
        row = await repo.get_seal(seal_id)
    if row is None or row.enterprise_id != op.enterprise_id:
        raise errors.SealNotFound()
    return row


async def list_seals(ctx: Seals, principal: Principal, *, limit: int,
                     cursor: str | None) -> Page[SealRow]:
    op = await operator(ctx, principal, manage=False)
    after = cursor_position(cursor)
    async with ctx.storage.connection() as repo:
        return await repo.list_seals(op.enterprise_id, limit=limit, after=after)


async def get_seal(ctx: Seals, principal: Principal, seal_id: uuid.UUID) -> SealRow:
    op = await operator(ctx, principal, manage=False)
    return await owned_seal(ctx, op, seal_id)


async def seal_image(ctx: Seals, principal: Principal, seal_id: uuid.UUID) -> tuple[bytes, str]:
    await get_seal(ctx, principal, seal_id)
    return await image_of(ctx, seal_id)


async def image_of(ctx: Seals, seal_id: uuid.UUID) -> tuple[bytes, str]:
    async with ctx.storage.connection() as repo:
        image = await repo.seal_image(seal_id)
    if image is None:
        raise errors.SealNotFound()
    return image


async def revoke(ctx: Seals, principal: Principal, seal_id: uuid.UUID, face_token: str,
                 reason: str) -> SealRow:
    """作废. Takes FOR UPDATE on the seal row: it waits for every stamping transaction that
    holds the row FOR SHARE, and once it commits no stamp can rely on the seal any more.
    The seal certificate is revoked in certs right after (and retried until certs confirms)."""
    op = await operator(ctx, principal, manage=True)
    current = await owned_seal(ctx, op, seal_id)
    if current.status != "active":
        raise errors.SealRevoked()
    await ctx.face.consume(face_token, principal.id, "revoke_seal")
    async with ctx.storage.transaction() as repo:
        await repo.get_seal(seal_id, lock="update")
        seal = seal_rules.fold(await repo.load(seal_id))
        assert seal is not None
        event = seal_rules.revoke_seal(seal, by=op.principal_id, at=ctx.now(), reason=reason)
        await repo.append(seal_id, "seal", seal.version, [event], op.principal_id)
        await repo.add_pending_revocation(seal_id, CERT_REVOCATION_REASON)
        row = await repo.get_seal(seal_id)
    log.info("seal_revoked", seal_id=str(seal_id), by=str(op.principal_id))
    await revoke_certificate(ctx, seal_id)
    assert row is not None
    return row


async def revoke_certificate(ctx: Seals, seal_id: uuid.UUID) -> bool:
    """One attempt at a pending certificate revocation; True when certs confirmed it."""
    try:
        await ctx.ca.revoke_seal_certificate(seal_id, CERT_REVOCATION_REASON)
    except EsealError as err:
        log.warning("seal_certificate_revocation_failed", seal_id=str(seal_id), problem_code=err.code)
        async with ctx.storage.connection() as repo:
            await repo.postpone_pending_revocation(seal_id, f"{err.code}: {err.detail}")
        return False
    async with ctx.storage.connection() as repo:
        await repo.done_pending_revocation(seal_id)
    return True


async def retry_pending_revocations(ctx: Seals, limit: int = 50) -> int:
    """Revoke certificates still pending (after a certs outage); returns how many succeeded."""
    done = 0
    async with ctx.storage.transaction() as repo:
        due = await repo.due_pending_revocations(limit)
        for seal_id, reason in due:
            try:
                await ctx.ca.revoke_seal_certificate(seal_id, reason)
            except EsealError as err:
                await repo.postpone_pending_revocation(seal_id, f"{err.code}: {err.detail}")
                continue
            await repo.done_pending_revocation(seal_id)
            done += 1
    return done
