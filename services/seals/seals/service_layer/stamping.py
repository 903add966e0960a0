"""What stamping asks seals (docs/INTERNAL_API.md): the authoritative stamping decision.

``stamp_signature`` checks and signs in ONE transaction that holds FOR SHARE locks on the
seal row and on the person's grant row, and only answers after it commits. Revoking the
seal, deleting the grant or changing its window take FOR UPDATE on the same rows, so:

* a revocation/deletion/shortening that starts while a signature is being made waits for it
  to finish (that signature relied on a state that was still true when it was made);
* a signature that starts while such a change is in progress waits for the change to
  commit, then re-reads the row (PostgreSQL re-checks a locked row's newest version) and
  is refused.

So once a change has been answered, no signature relying on the old state can be made.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.errors import EsealError, ValidationFailed

from ..adapters.rendering import SEAL_TYPES
from ..domain import errors
from ..domain.grant import check_stamp
from .approvals import check_approver
from .context import Seals
from .ports import SealCertificate, SealRow, SealSignature

DIGEST_BYTES = 32  # SHA-256 for ecdsa-p256-sha256 (PDF); e = SM3(Z‖M) for sm2-sm3 (OFD)
ECDSA, SM2 = "ecdsa-p256-sha256", "sm2-sm3"


@dataclass(frozen=True)
class StampSignature:
    signature: SealSignature
    certificate: SealCertificate
    seal: SealRow
    enterprise_name: str
    enterprise_uscc: str

    @property
    def type_label(self) -> str:
        kind = SEAL_TYPES.get(self.seal.type)
        return kind.label if kind else self.seal.type


async def stamp_signature(ctx: Seals, seal_id: uuid.UUID, *, person_id: uuid.UUID,
                          enterprise_id: uuid.UUID, digest: bytes,
                          algorithm: str = ECDSA,
                          approver_id: uuid.UUID | None = None,
                          timestamp: bool = False) -> StampSignature:
    """``algorithm``: the seal's ECDSA key (PAdES, PDF) or its SM2 twin (GB/T 38540, OFD);
    the same decision, under the same locks, either way. A seal that requires approval
    (用印审批) signs only for ``approver_id`` naming one of its approvers who may approve now
    (403 ``approval_required`` without one, ``not_an_approver`` for anyone else).
    ``timestamp``: certs also answers its TSA token over the signature value."""
    if len(digest) != DIGEST_BYTES:
        raise ValidationFailed.field("digest_b64", f"must be a {DIGEST_BYTES}-byte digest")
    if algorithm not in (ECDSA, SM2):
        raise ValidationFailed.field("algorithm", f"{ECDSA} or {SM2}")
    async with ctx.storage.transaction() as repo:
        seal = await repo.get_seal(seal_id, lock="share")
        grant = await repo.live_grant(seal_id, person_id, lock="share") if seal else None
        check_stamp(seal.aggregate() if seal else None,
                    grant.aggregate() if grant else None,
                    enterprise_id=enterprise_id, today=ctx.today())
        assert seal is not None
        if seal.approval_required:
            if approver_id is None:
                raise errors.ApprovalRequired()
            await check_approver(repo, ctx, seal, approver_id)
        try:
            sign = ctx.ca.sign_sm2 if algorithm == SM2 else ctx.ca.sign
            signature = await sign(seal_id, digest, timestamp=timestamp)
        except EsealError as err:
            if err.code == "certificate_revoked":
                raise errors.SealRevoked() from None
            raise
        certificate = await repo.seal_certificate(seal_id)
        info = await repo.enterprise(enterprise_id)
    assert certificate is not None
    return StampSignature(signature, certificate, seal, info.name if info else "",
                          info.uscc if info else "")


@dataclass(frozen=True)
class Choice:
    enterprise_id: uuid.UUID
    enterprise_name: str
    seals: list[SealRow]


async def choices(ctx: Seals, person_id: uuid.UUID) -> list[Choice]:
    """The seals a person may stamp with now, by enterprise."""
    async with ctx.storage.connection() as repo:
        usable = await repo.granted_seals(person_id, ctx.today(), usable_only=True)
    out: dict[uuid.UUID, Choice] = {}
    for g in usable:
        eid = g.seal.enterprise_id
        out.setdefault(eid, Choice(eid, g.enterprise_name, [])).seals.append(g.seal)
    return list(out.values())


@dataclass(frozen=True)
class SealRecord:
    seal: SealRow
    enterprise_name: str
    enterprise_uscc: str
    certificate: SealCertificate | None


async def seal_record(ctx: Seals, seal_id: uuid.UUID) -> SealRecord:
    record = (await seal_records(ctx, [seal_id]))[seal_id]
    if record is None:
        raise errors.SealNotFound()
    return record


async def seal_records(ctx: Seals, seal_ids: list[uuid.UUID]) -> dict[uuid.UUID, SealRecord | None]:
    """``seal_record`` of each (None: no such seal), on one connection."""
    out: dict[uuid.UUID, SealRecord | None] = {}
    async with ctx.storage.connection() as repo:
        for seal_id in dict.fromkeys(seal_ids):
            seal = await repo.get_seal(seal_id)
            if seal is None:
                out[seal_id] = None
                continue
            info = await repo.enterprise(seal.enterprise_id)
            certificate = await repo.seal_certificate(seal_id)
            out[seal_id] = SealRecord(seal, info.name if info else "", info.uscc if info else "",
                                      certificate)
    return out


async def enterprise_seals(ctx: Seals, enterprise_id: uuid.UUID) -> list[SealRow]:
    async with ctx.storage.connection() as repo:
        return await repo.enterprise_seals(enterprise_id)
