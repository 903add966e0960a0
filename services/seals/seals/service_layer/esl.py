"""The seal as GB/T 38540 data (电子印章数据, ``SES_Seal`` V4), for the enterprise and grantees.

seals owns what the seal is and who may use it; certs holds every key, lists the SM2
certificates and signs with the platform's seal-making (制章) certificate. certList holds
the certificates allowed to sign with the seal (GB/T 38540 §5.2): the seal's own SM2
certificate and the SM2 certificates of the persons whose grant covers today. The download
is made on each request, so it always says who may use the seal now (a grant added, ended
or deleted changes the next download); nothing is cached that could outlive a grant. The
SES_Seal an OFD stamp embeds lists only the seal's own certificate: it is made once per seal
certificate and kept (``esl_for_stamp``), after the same use check on every request.
"""

from __future__ import annotations

import uuid

from shared.auth import Principal
from shared.errors import EsealError

from ..adapters.rendering import SEAL_TYPES
from ..domain import errors
from ..domain.grant import check_stamp
from .context import Seals
from .operators import operator
from .ports import EslRequest, SealRow
from .seals import owned_seal

ORGANISATION_SEAL, PERSONAL_SEAL = 1, 2  # GB/T 38540 property.type


def gbt_type(type_code: str) -> int:
    """法定代表人名章 is a person's name seal; every other type is the organisation's."""
    return PERSONAL_SEAL if type_code == "legal_representative" else ORGANISATION_SEAL


async def _visible_seal(ctx: Seals, principal: Principal, seal_id: uuid.UUID) -> SealRow:
    """The enterprise and its agents see their seals; a person sees seals granted to them
    (a live grant not over yet). Anyone else: 404, as for any seal not theirs."""
    if principal.role == "person":
        async with ctx.storage.connection() as repo:
            found = await repo.granted_seals(principal.id, ctx.today(), seal_id=seal_id)
        if not found:
            raise errors.SealNotFound()
        return found[0].seal
    return await owned_seal(ctx, await operator(ctx, principal, manage=False), seal_id)


async def esl(ctx: Seals, principal: Principal, seal_id: uuid.UUID) -> bytes:
    seal = await _visible_seal(ctx, principal, seal_id)
    return await _make(ctx, seal)


async def esl_for_stamp(ctx: Seals, seal_id: uuid.UUID, *, person_id: uuid.UUID,
                        enterprise_id: uuid.UUID) -> bytes:
    """The seal an OFD stamp embeds, for a person who may stamp with it now (the same check as
    a stamp signature, without its locks: the signature itself decides under them)."""
    async with ctx.storage.connection() as repo:
        seal = await repo.get_seal(seal_id)
        grant = await repo.live_grant(seal_id, person_id) if seal else None
        certificate = await repo.seal_certificate(seal_id) if seal else None
        serial = certificate.serial_number if certificate else ""
        kept = await repo.stamp_esl(seal_id, serial) if serial else None
    check_stamp(seal.aggregate() if seal else None, grant.aggregate() if grant else None,
                enterprise_id=enterprise_id, today=ctx.today())
    assert seal is not None  # and active: check_stamp refuses a revoked seal (409)
    # Only the seal's own SM2 certificate is listed: it is what signs an OFD stamp, and a
    # stamped document handed to a relying system must not name every grantee of the seal.
    # So it is made once per seal certificate and kept (issue 14: a certs round trip and an
    # SM2 signature fewer per OFD stamp); the check above still runs on every request.
    if kept is not None:
        return kept
    made = await _make(ctx, seal, with_grantees=False)
    if serial:
        async with ctx.storage.connection() as repo:
            await repo.keep_stamp_esl(seal_id, serial, made)
    return made


async def _make(ctx: Seals, seal: SealRow, *, with_grantees: bool = True) -> bytes:
    if seal.status != "active":
        raise errors.SealRevoked()
    seal_id = seal.seal_id
    kind = SEAL_TYPES[seal.type]
    async with ctx.storage.connection() as repo:
        image = await repo.seal_image(seal_id)
        grantees = (await repo.usable_grantees(seal_id, ctx.today())
                    if with_grantees else [])
    if image is None:
        raise errors.SealNotFound()
    try:
        return await ctx.ca.make_esl(EslRequest(
            seal_id=seal_id, name=seal.name, seal_type=gbt_type(seal.type), picture_png=image[0],
            width_mm=round(kind.width_mm), height_mm=round(kind.height_mm),
            created_at=seal.created_at, signer_principal_ids=grantees))
    except EsealError as err:
        if err.code == "certificate_revoked":
            raise errors.SealRevoked() from None
        raise
