"""印章授权: which natural persons may use a seal, and when.

Changing or deleting a grant takes FOR UPDATE on the grant row first (and nothing else, so
lock order stays seal-then-grant everywhere): it waits for every stamping transaction that
holds the grant FOR SHARE, and once it commits no stamp can rely on the old window.
"""

from __future__ import annotations

import uuid
from datetime import date

from shared.auth import Principal
from shared.people.elements import mask

from ..domain import errors
from ..domain import grant as grant_rules
from ..domain.grant import Grant
from .context import Seals, cursor_position
from .operators import operator
from .ports import GrantRow, Page, SealRepository
from .seals import owned_seal


async def list_grants(ctx: Seals, principal: Principal, seal_id: uuid.UUID, *, limit: int,
                      cursor: str | None) -> Page[GrantRow]:
    op = await operator(ctx, principal, manage=False)
    await owned_seal(ctx, op, seal_id)
    async with ctx.storage.connection() as repo:
        return await repo.list_grants(seal_id, limit=limit, after=cursor_position(cursor))


async def get_grant(ctx: Seals, principal: Principal, seal_id: uuid.UUID,
                    grant_id: uuid.UUID) -> GrantRow:
    op = await operator(ctx, principal, manage=False)
    await owned_seal(ctx, op, seal_id)
    async with ctx.storage.connection() as repo:
        row = await repo.get_grant(grant_id)
    if row is None or row.seal_id != seal_id or row.deleted:
        raise errors.GrantNotFound()
    return row


async def add_grant(ctx: Seals, principal: Principal, seal_id: uuid.UUID, *, name: str,
                    id_type: str, id_number: str, valid_from: date,
                    valid_to: date) -> GrantRow:
    """Authorize a registered natural person (name and ID number must match identity's)."""
    op = await operator(ctx, principal, manage=True)
    window = grant_rules.Window(valid_from, valid_to)
    today = ctx.today()
    if window.valid_to < today:
        raise errors.InvalidWindow.already_over()
    if (await owned_seal(ctx, op, seal_id)).status != "active":
        raise errors.SealRevoked()
    person = await ctx.persons.match(name, id_type, id_number)
    grant_id = uuid.uuid4()
    async with ctx.storage.transaction() as repo:
        # FOR SHARE: a revocation running now either finishes first (and we refuse) or
        # waits for this grant, which it then makes unusable like any other.
        seal = await repo.get_seal(seal_id, lock="share")
        assert seal is not None
        event = grant_rules.grant_authorization(
            grant_id=grant_id, seal=seal.aggregate(), person_id=person.person_id,
            window=window, today=today, granted_by=op.principal_id, person_name=person.name,
            id_number_masked=mask(id_number.strip().upper()))
        await repo.append(grant_id, "grant", 0, [event], op.principal_id)  # or GrantExists
        row = await repo.get_grant(grant_id)
    assert row is not None
    return row


async def _locked_grant(repo: SealRepository, seal_id: uuid.UUID,
                        grant_id: uuid.UUID) -> Grant:
    row = await repo.get_grant(grant_id, lock="update")
    if row is None or row.seal_id != seal_id or row.deleted:
        raise errors.GrantNotFound()
    grant = grant_rules.fold(await repo.load(grant_id))
    assert grant is not None
    return grant


async def change_grant(ctx: Seals, principal: Principal, seal_id: uuid.UUID, grant_id: uuid.UUID,
                       *, valid_from: date | None, valid_to: date | None) -> GrantRow:
    op = await operator(ctx, principal, manage=True)
    await owned_seal(ctx, op, seal_id)
    async with ctx.storage.transaction() as repo:
        grant = await _locked_grant(repo, seal_id, grant_id)
        seal = await repo.get_seal(seal_id)
        assert seal is not None
        event = grant_rules.change_window(grant, seal=seal.aggregate(), valid_from=valid_from,
                                          valid_to=valid_to)
        if event is not None:
            await repo.append(grant_id, "grant", grant.version, [event], op.principal_id)
        row = await repo.get_grant(grant_id)
    assert row is not None
    return row


async def delete_grant(ctx: Seals, principal: Principal, seal_id: uuid.UUID,
                       grant_id: uuid.UUID) -> None:
    op = await operator(ctx, principal, manage=True)
    await owned_seal(ctx, op, seal_id)
    async with ctx.storage.transaction() as repo:
        grant = await _locked_grant(repo, seal_id, grant_id)
        event = grant_rules.revoke_grant(grant, by=op.principal_id)
        await repo.append(grant_id, "grant", grant.version, [event], op.principal_id)
