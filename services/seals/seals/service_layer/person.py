"""The natural person's side: the enterprises that granted them seals, those seals, and the
personal signature (个人电子签名).

What a grantee sees: active seals with a live grant that is not over yet. A grant whose
window has not started is shown as ``pending`` (not usable); revoked seals, deleted grants
and expired grants do not appear at all. Only a grant whose window covers today (China
date) is usable, and only usable seals are offered for stamping (``stamping.choices``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.errors import ServiceUnavailable

from ..adapters.images import sha256_hex
from ..domain import errors
from ..domain import signature as signature_rules
from ..domain.signature import SignatureMethod
from .context import Seals
from .ports import GrantedSeal, SignatureRow
from .problems import rendered


@dataclass(frozen=True)
class GrantingEnterprise:
    enterprise_id: uuid.UUID
    name: str
    seal_count: int
    usable_seal_count: int


async def my_enterprises(ctx: Seals, person_id: uuid.UUID) -> list[GrantingEnterprise]:
    today = ctx.today()
    async with ctx.storage.connection() as repo:
        seals = await repo.granted_seals(person_id, today)
    out: dict[uuid.UUID, GrantingEnterprise] = {}
    for s in seals:
        eid = s.seal.enterprise_id
        prev = out.get(eid, GrantingEnterprise(eid, s.enterprise_name, 0, 0))
        usable = s.grant.window.covers(today)
        out[eid] = GrantingEnterprise(eid, prev.name, prev.seal_count + 1,
                                      prev.usable_seal_count + int(usable))
    return list(out.values())


async def my_seals(ctx: Seals, person_id: uuid.UUID,
                   enterprise_id: uuid.UUID) -> list[GrantedSeal]:
    async with ctx.storage.connection() as repo:
        return await repo.granted_seals(person_id, ctx.today(), enterprise_id=enterprise_id)


async def my_seal(ctx: Seals, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                  seal_id: uuid.UUID) -> GrantedSeal:
    async with ctx.storage.connection() as repo:
        found = await repo.granted_seals(person_id, ctx.today(),
                                         enterprise_id=enterprise_id, seal_id=seal_id)
    if not found:
        raise errors.SealNotFound()
    return found[0]


async def my_seal_image(ctx: Seals, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                        seal_id: uuid.UUID) -> tuple[bytes, str]:
    await my_seal(ctx, person_id, enterprise_id, seal_id)
    async with ctx.storage.connection() as repo:
        image = await repo.seal_image(seal_id)
    if image is None:
        raise errors.SealNotFound()
    return image


# --- personal signature -------------------------------------------------------------------


async def signature(ctx: Seals, person_id: uuid.UUID) -> SignatureRow:
    async with ctx.storage.connection() as repo:
        row = await repo.live_signature(person_id)
    if row is None:
        raise errors.SignatureNotFound()
    return row


async def signature_image(ctx: Seals, person_id: uuid.UUID) -> tuple[bytes, str]:
    row = await signature(ctx, person_id)
    async with ctx.storage.connection() as repo:
        image = await repo.signature_image(row.signature_id)
    if image is None:
        raise errors.SignatureNotFound()
    return image


async def _registered_name(ctx: Seals, person_id: uuid.UUID) -> str:
    async with ctx.storage.connection() as repo:
        name = await repo.person_name(person_id)
    if name:
        return name
    name = await ctx.persons.person_name(person_id)
    if not name:
        raise ServiceUnavailable("your registration data is not available yet",
                                 code="person_unknown", headers={"Retry-After": "1"})
    async with ctx.storage.connection() as repo:
        await repo.record_person(person_id, name)
    return name


async def create_signature(ctx: Seals, person_id: uuid.UUID, *, method: SignatureMethod,
                           handwritten_png: bytes | None) -> SignatureRow:
    """One per person (409 signature_exists): a cleaned-up handwritten PNG, or the person's
    registered name written in 楷体."""
    async with ctx.storage.connection() as repo:
        if await repo.live_signature(person_id):
            raise errors.SignatureExists()
    if method == "handwritten":
        assert handwritten_png is not None
        png = await rendered(ctx.images.handwritten_signature(handwritten_png), "image_png")
    else:
        png = await rendered(ctx.images.generated_signature(
            await _registered_name(ctx, person_id)), "name")
    signature_id = uuid.uuid4()
    digest = sha256_hex(png)
    async with ctx.storage.transaction() as repo:
        event = signature_rules.create_signature(signature_id=signature_id, person_id=person_id,
                                                 method=method, image_sha256=digest)
        await repo.append(signature_id, "signature", 0, [event], person_id)  # or SignatureExists
        await repo.insert_signature_image(signature_id, png, digest)
        row = await repo.live_signature(person_id)
    assert row is not None
    return row


async def delete_signature(ctx: Seals, person_id: uuid.UUID) -> None:
    async with ctx.storage.transaction() as repo:
        row = await repo.live_signature(person_id, lock="update")
        if row is None:
            raise errors.SignatureNotFound()
        sig = signature_rules.fold(await repo.load(row.signature_id))
        assert sig is not None
        event = signature_rules.delete_signature(sig)
        await repo.append(row.signature_id, "signature", sig.version, [event], person_id)
        await repo.delete_signature_image(row.signature_id)
