"""Registration of natural persons and enterprise accounts (统一身份认证注册).

The event starts the stream and is the first write of the transaction; the account row
follows in the same transaction, and its unique indexes decide races: of two concurrent
registrations of one ID number, phone or USCC exactly one commits, the other gets 409.
"""

from __future__ import annotations

import uuid

from shared.catalog import EnterpriseRegistered, PersonRegistered
from shared.people.elements import mask

from ..domain.accounts import Account
from ..domain.commands import RegisterEnterprise, RegisterPerson
from ..domain.errors import AlreadyRegistered
from .context import Identity
from .ports import AccountConflict


async def register_person(ctx: Identity, cmd: RegisterPerson) -> uuid.UUID:
    await _refuse_known(ctx, "person", id_number=cmd.id_number, phone=cmd.phone)
    person_id = uuid.uuid4()
    account = Account(id=person_id, role="person", name=cmd.name, phone=cmd.phone,
                      password_hash=await ctx.passwords.hash(cmd.password),
                      id_type=cmd.id_type, id_number=cmd.id_number)
    event = PersonRegistered(person_id=person_id, name=cmd.name, id_number_masked=mask(cmd.id_number),
                             person_key=ctx.person_key(cmd.id_number), phone_masked=mask(cmd.phone))
    await _commit(ctx, account, "person", event, person_key=event.person_key)
    return person_id


async def register_enterprise(ctx: Identity, cmd: RegisterEnterprise) -> uuid.UUID:
    await _refuse_known(ctx, "enterprise", uscc=cmd.uscc)
    enterprise_id = uuid.uuid4()
    rep = cmd.legal_representative
    account = Account(id=enterprise_id, role="enterprise", name=cmd.name, phone=rep.phone,
                      password_hash=await ctx.passwords.hash(cmd.password),
                      id_type=rep.id_type, id_number=rep.id_number, enterprise_id=enterprise_id,
                      enterprise_name=cmd.name, enterprise_uscc=cmd.uscc,
                      legal_representative_name=rep.name)
    event = EnterpriseRegistered(enterprise_id=enterprise_id, name=cmd.name, uscc=cmd.uscc,
                                 legal_representative_name=rep.name, phone_masked=mask(rep.phone))
    await _commit(ctx, account, "enterprise", event)
    return enterprise_id


async def _refuse_known(ctx: Identity, role: str, *, id_number: str | None = None,
                        phone: str | None = None, uscc: str | None = None) -> None:
    """Answer a plain duplicate before spending a password hash on it."""
    async with ctx.storage.connection() as repo:
        field = await repo.registered_field(role, id_number, phone, uscc)
    if field is not None:
        raise AlreadyRegistered(field)


async def _commit(ctx: Identity, account: Account, stream_type: str,
                  event: PersonRegistered | EnterpriseRegistered, *, person_key: str | None = None) -> None:
    try:
        async with ctx.storage.transaction() as repo:
            await repo.append(account.id, stream_type, 0, [event])
            await repo.insert_account(account, person_key=person_key)
    except AccountConflict as conflict:  # a concurrent registration won the unique index
        raise AlreadyRegistered(conflict.field) from None
