"""Proofing (实名核验): a person's three elements at registration, retried at login while the
provider was unavailable; an enterprise's business-registry check at registration, then its
legal representative's face check before certs activates its certificate.

Nothing here is a partial write: a refused check writes only its own event on a stream of
its own (no account); a passed or pending check is part of the registration's transaction
(``registration``); the retry and the face verification change the account and append the
outcome in one transaction.
"""

from __future__ import annotations

import uuid

from shared.catalog import EnterpriseVerified, PersonVerified
from shared.logging import get_logger
from shared.people.elements import mask

from ..domain.accounts import Account, Verification
from ..domain.errors import (
    AccountPendingVerification,
    AlreadyVerified,
    NotAnEnterprise,
    RealNameMismatch,
    RegistryMismatch,
    RegistryUnavailable,
)
from ..domain.events import (
    PROOFING_STREAM,
    EnterpriseVerificationFailed,
    PersonVerificationFailed,
)
from . import face_checks
from .context import Identity
from .ports import ProofingResult, ProofingUnavailable

log = get_logger(__name__)

# Registration appends two events to the person / enterprise stream (registered, then
# verified or pending): the later outcome follows them.
REGISTRATION_EVENTS = 2
ENTERPRISE_PURPOSE = "enterprise_verification"


async def check_person(ctx: Identity, name: str, id_type: str, id_number: str,
                       phone: str) -> Verification:
    """``verified``, or ``pending_verification`` when the provider gave no answer; a refusal
    is recorded (``PersonVerificationFailed``, no account) and raised as 422."""
    try:
        if ctx.realname is None:
            raise ProofingUnavailable("no real-name provider")
        verdict = await ctx.realname.verify_three(name, id_type, id_number, phone)
    except ProofingUnavailable as exc:
        log.warning("realname_unavailable", stage="registration", error=str(exc))
        return "pending_verification"
    if not verdict.verified:
        await _record_refusal(ctx, PersonVerificationFailed(field=verdict.field,
                                                            id_number_masked=mask(id_number)))
        raise RealNameMismatch(verdict.field, verdict.reason)
    return "verified"


async def check_enterprise(ctx: Identity, name: str, uscc: str, legal_representative_name: str,
                           legal_representative_id_number: str) -> None:
    """The registry confirms the enterprise; a refusal is recorded and raised as 422, no
    answer as 503 (nothing registered either way)."""
    try:
        if ctx.registry is None:
            raise ProofingUnavailable("no business registry")
        verdict: ProofingResult = await ctx.registry.verify_enterprise(
            name, uscc, legal_representative_name, legal_representative_id_number)
    except ProofingUnavailable as exc:
        log.warning("registry_unavailable", error=str(exc))
        raise RegistryUnavailable() from None
    if not verdict.verified:
        await _record_refusal(ctx, EnterpriseVerificationFailed(uscc=uscc, field=verdict.field))
        raise RegistryMismatch(verdict.field, verdict.reason)


async def _record_refusal(ctx: Identity,
                          event: PersonVerificationFailed | EnterpriseVerificationFailed) -> None:
    async with ctx.storage.transaction() as repo:
        await repo.append(f"{PROOFING_STREAM}-{uuid.uuid4()}", PROOFING_STREAM, 0, [event])
    log.info("proofing_refused", outcome=event.event_type, field=event.field)


async def ensure_verified_person(ctx: Identity, account: Account) -> Account:
    """Before a session starts: a pending person's check is run again now (the retry path).
    Passed: the account is verified from now on. No answer again: 403
    ``account_pending_verification``. Refused: recorded, 422 ``realname_mismatch``."""
    if account.role != "person" or account.verified:
        return account
    assert account.id_type is not None and account.id_number is not None
    try:
        if ctx.realname is None:
            raise ProofingUnavailable("no real-name provider")
        verdict = await ctx.realname.verify_three(account.name, account.id_type, account.id_number,
                                                  account.phone)
    except ProofingUnavailable as exc:
        log.warning("realname_unavailable", stage="login", principal_id=str(account.id), error=str(exc))
        raise AccountPendingVerification() from None
    async with ctx.storage.transaction() as repo:
        current = await repo.get_account(account.id, for_update=True)
        assert current is not None
        if current.verified:  # a concurrent login's retry won
            return current
        if not verdict.verified:
            await repo.append_login(account.id, [PersonVerificationFailed(
                person_id=account.id, field=verdict.field, id_number_masked=mask(account.id_number))])
        else:
            await repo.append(account.id, "person", REGISTRATION_EVENTS,
                              [PersonVerified(person_id=account.id)])
            await repo.set_verified(account.id)
    if not verdict.verified:
        raise RealNameMismatch(verdict.field, verdict.reason)
    log.info("person_verified", principal_id=str(account.id), stage="login")
    return await _reloaded(ctx, account.id)


async def _reloaded(ctx: Identity, account_id: uuid.UUID) -> Account:
    async with ctx.storage.connection() as repo:
        account = await repo.get_account(account_id)
    assert account is not None
    return account


async def verify_enterprise(ctx: Identity, enterprise_id: uuid.UUID, role: str,
                            face_token: str) -> dict[str, str]:
    """The legal representative passed a face check (purpose ``enterprise_verification``,
    subject the enterprise account, whose face checks are its legal representative's): the
    token is used and the enterprise verified in one transaction."""
    if role != "enterprise":
        raise NotAnEnterprise()
    async with ctx.storage.transaction() as repo:
        account = await repo.get_account(enterprise_id, for_update=True)
        if account is None or account.role != "enterprise":
            raise NotAnEnterprise()
        if account.verified:
            raise AlreadyVerified()
        used = await face_checks.consume_in(ctx, repo, face_token, enterprise_id, ENTERPRISE_PURPOSE)
        await repo.append(enterprise_id, "enterprise", REGISTRATION_EVENTS,
                          [EnterpriseVerified(enterprise_id=enterprise_id, face_check_id=used.id)])
        await repo.set_verified(enterprise_id)
    log.info("enterprise_verified", principal_id=str(enterprise_id), face_check_id=str(used.id))
    return {"enterprise_id": str(enterprise_id), "verification": "verified"}
