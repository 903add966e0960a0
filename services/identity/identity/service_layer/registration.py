"""Registration of natural persons and enterprise accounts (统一身份认证注册), proofed.

A person's three elements (name, ID number, phone) are checked with the real-name provider
before anything is written: refused → 422 ``realname_mismatch`` and no account; no answer →
the account is registered ``pending_verification`` (it cannot log in; each login retries the
check). A verified registration supersedes accounts still pending that hold its ID number
or phone (withdrawn, ``PersonRegistrationWithdrawn``): nobody can keep a person's elements by
registering them during an outage, and a person whose pending account the later check refused
registers again with the right elements. An enterprise's name, USCC and legal representative
are checked with the business registry first: refused → 422 ``registry_mismatch``, no
answer → 503 ``registry_unavailable``, no account either way; confirmed → registered
``pending_verification`` until its legal representative passes a face check (``proofing.verify_enterprise``).

The events start the stream and are the first write of the transaction; the account row
follows in the same transaction, and its unique indexes decide races: of two concurrent
registrations of one ID number, phone or USCC exactly one commits, the other gets 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.catalog import EnterpriseRegistered, PersonRegistered, PersonRegistrationWithdrawn, PersonVerified
from shared.events import DomainEvent
from shared.logging import get_logger
from shared.people.elements import mask

from ..domain.accounts import Account, Verification
from ..domain.commands import RegisterEnterprise, RegisterPerson
from ..domain.errors import AlreadyRegistered
from ..domain.events import EnterpriseRegistryVerified, PersonVerificationPending
from . import proofing
from .context import Identity
from .ports import AccountConflict

log = get_logger(__name__)


@dataclass(frozen=True)
class Registered:
    id: uuid.UUID
    verification: Verification


async def register_person(ctx: Identity, cmd: RegisterPerson) -> Registered:
    await _refuse_known(ctx, "person", id_number=cmd.id_number, phone=cmd.phone)
    verification = await proofing.check_person(ctx, cmd.name, cmd.id_type, cmd.id_number, cmd.phone)
    person_id = uuid.uuid4()
    account = Account(id=person_id, role="person", name=cmd.name, phone=cmd.phone,
                      password_hash=await ctx.passwords.hash(cmd.password),
                      id_type=cmd.id_type, id_number=cmd.id_number, verification=verification)
    event = PersonRegistered(person_id=person_id, name=cmd.name, id_number_masked=mask(cmd.id_number),
                             person_key=ctx.person_key(cmd.id_number), phone_masked=mask(cmd.phone))
    outcome: DomainEvent = PersonVerified(person_id=person_id) if verification == "verified" \
        else PersonVerificationPending(person_id=person_id)
    await _commit(ctx, account, "person", [event, outcome], person_key=event.person_key,
                  supersedes=verification == "verified")
    return Registered(person_id, verification)


async def register_enterprise(ctx: Identity, cmd: RegisterEnterprise) -> Registered:
    await _refuse_known(ctx, "enterprise", uscc=cmd.uscc)
    rep = cmd.legal_representative
    await proofing.check_enterprise(ctx, cmd.name, cmd.uscc, rep.name, rep.id_number)
    enterprise_id = uuid.uuid4()
    account = Account(id=enterprise_id, role="enterprise", name=cmd.name, phone=rep.phone,
                      password_hash=await ctx.passwords.hash(cmd.password),
                      id_type=rep.id_type, id_number=rep.id_number, enterprise_id=enterprise_id,
                      enterprise_name=cmd.name, enterprise_uscc=cmd.uscc,
                      legal_representative_name=rep.name, verification="pending_verification")
    event = EnterpriseRegistered(enterprise_id=enterprise_id, name=cmd.name, uscc=cmd.uscc,
                                 legal_representative_name=rep.name, phone_masked=mask(rep.phone))
    checked = EnterpriseRegistryVerified(enterprise_id=enterprise_id,
                                         registry=ctx.registry.name if ctx.registry else "none")
    await _commit(ctx, account, "enterprise", [event, checked])
    return Registered(enterprise_id, "pending_verification")


async def _refuse_known(ctx: Identity, role: str, *, id_number: str | None = None,
                        phone: str | None = None, uscc: str | None = None) -> None:
    """Answer a plain duplicate before spending a provider check or a password hash on it."""
    async with ctx.storage.connection() as repo:
        field = await repo.registered_field(role, id_number, phone, uscc)
    if field is not None:
        raise AlreadyRegistered(field)


async def _commit(ctx: Identity, account: Account, stream_type: str, events: list[DomainEvent], *,
                  person_key: str | None = None, supersedes: bool = False) -> None:
    """``supersedes``: a verified person takes the ID number and phone from accounts still
    pending their check (registered during a provider outage, perhaps by someone else, or
    with an element the later check refused); those are withdrawn in the same transaction."""
    assert len(events) == proofing.REGISTRATION_EVENTS
    try:
        async with ctx.storage.transaction() as repo:
            if supersedes:
                assert account.id_number is not None
                for withdrawn in await repo.withdraw_pending_persons(account.id_number, account.phone):
                    # a pending person's stream holds just its registration events
                    gone = PersonRegistrationWithdrawn(person_id=withdrawn, superseded_by=account.id)
                    await repo.append(withdrawn, "person", proofing.REGISTRATION_EVENTS, [gone])
                    log.info("pending_person_withdrawn", principal_id=str(withdrawn),
                             superseded_by=str(account.id))
            await repo.append(account.id, stream_type, 0, events)
            await repo.insert_account(account, person_key=person_key)
    except AccountConflict as conflict:  # a concurrent registration won the unique index
        raise AlreadyRegistered(conflict.field) from None
