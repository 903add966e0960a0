"""用印审批 (approval before use): the seal's policy and who may approve, decided here.

Seals owns the policy (``SealApprovalPolicySet`` on the seal's stream) and enforces it where
a seal signature is made: ``stamping.stamp_signature`` refuses a seal that requires approval
unless it names an approver who may approve now (``check_approver``). Stamping keeps the
waiting request and asks seals, before it applies the seal, whether the approver may approve
(the face check ``approve_stamp`` is used up here, like those of the other seal operations).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from shared.auth import Principal

from ..domain import errors
from ..domain import seal as seal_rules
from ..domain.access import AgentRecord
from ..domain.grant import check_stamp
from .context import Seals
from .operators import operator
from .ports import SealRepository, SealRow
from .seals import owned_seal


async def set_policy(ctx: Seals, principal: Principal, seal_id: uuid.UUID, *, required: bool,
                     approvers: Sequence[uuid.UUID]) -> SealRow:
    """``PATCH /api/v1/seals/{id}``: those who manage the seals set who approves. Each approver
    is the enterprise account or one of its agents with the management permission now."""
    op = await operator(ctx, principal, manage=True)
    await owned_seal(ctx, op, seal_id)
    async with ctx.storage.transaction() as repo:
        for approver in dict.fromkeys(approvers):
            if not await _may_approve(repo, op.enterprise_id, approver, ctx):
                raise errors.InvalidApprovers(
                    f"{approver} is neither the enterprise account nor one of its agents with "
                    "the management permission")
        await repo.get_seal(seal_id, lock="update")
        seal = seal_rules.fold(await repo.load(seal_id))
        assert seal is not None
        event = seal_rules.set_approval_policy(seal, required=required, approvers=approvers,
                                               by=op.principal_id)
        await repo.append(seal_id, "seal", seal.version, [event], op.principal_id)
        row = await repo.get_seal(seal_id)
    assert row is not None
    return row


async def _may_approve(repo: SealRepository, enterprise_id: uuid.UUID, approver: uuid.UUID,
                       ctx: Seals) -> bool:
    if approver == enterprise_id:
        return True
    return _manager(await repo.agent(approver), enterprise_id, ctx)


def _manager(agent: AgentRecord | None, enterprise_id: uuid.UUID, ctx: Seals) -> bool:
    if agent is None or agent.removed or not agent.can_manage or agent.enterprise_id != enterprise_id:
        return False
    today = ctx.today()
    return ((agent.valid_from is None or agent.valid_from <= today)
            and (agent.valid_to is None or today <= agent.valid_to))


async def check_approver(repo: SealRepository, ctx: Seals, seal: SealRow,
                         approver_id: uuid.UUID | None) -> None:
    """403 ``not_an_approver`` unless ``approver_id`` is among the seal's approvers and may
    still approve (the enterprise account, or an agent still managing, inside its window)."""
    if (approver_id is None or approver_id not in seal.approvers
            or not await _may_approve(repo, seal.enterprise_id, approver_id, ctx)):
        raise errors.NotAnApprover()


async def approve_check(ctx: Seals, approver_id: uuid.UUID, *, person_id: uuid.UUID,
                        enterprise_id: uuid.UUID, seal_ids: Sequence[uuid.UUID],
                        face_token: str | None) -> None:
    """Before stamping applies the seals of an approved request: the approver may approve
    every seal that requires it (403 ``not_an_approver``), each seal is active and the
    person's grant valid now (409 ``seal_revoked``, 403 ``not_authorized``…), then the face
    token is used up (when given: a decision needs it, a listing does not)."""
    if not seal_ids:
        raise errors.NotAnApprover()
    async with ctx.storage.transaction() as repo:
        for seal_id in seal_ids:
            seal = await repo.get_seal(seal_id, lock="share")
            if seal is None:
                raise errors.SealNotFound()
            if seal.approval_required:
                await check_approver(repo, ctx, seal, approver_id)
            grant = await repo.live_grant(seal_id, person_id, lock="share")
            check_stamp(seal.aggregate(), grant.aggregate() if grant else None,
                        enterprise_id=enterprise_id, today=ctx.today())
    if face_token is not None:
        await ctx.face.consume(face_token, approver_id, "approve_stamp")


async def approvable_seals(ctx: Seals, approver_id: uuid.UUID) -> list[SealRow]:
    """The seals whose stamps ``approver_id`` may approve now."""
    async with ctx.storage.connection() as repo:
        rows = await repo.approvable_seals(approver_id)
        return [r for r in rows if await _may_approve(repo, r.enterprise_id, approver_id, ctx)]
