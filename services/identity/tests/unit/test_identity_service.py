"""The identity service layer on in-memory fakes (no database): registration, password
login and lockout, refresh-token rotation and replay, logout, agent logins."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from identity.adapters.passwords import FAST_TEST_PARAMS, Argon2Passwords
from identity.adapters.signing import TokenSigner, _new_key
from identity.config import IdentitySettings
from identity.domain.commands import (
    CreateAgentLogin,
    PasswordLogin,
    RefreshSession,
    RegisterEnterprise,
    RegisterPerson,
)
from identity.domain.errors import (
    AccountLocked,
    AccountPendingVerification,
    AgentLoginConflict,
    AlreadyRegistered,
    AlreadyVerified,
    FaceTokenMismatch,
    InvalidCredentials,
    InvalidRefreshToken,
    NotAnEnterprise,
    RealNameMismatch,
    RegistryMismatch,
    RegistryUnavailable,
    SessionEnded,
)
from identity.domain.events import LoginLocked
from identity.service_layer import agent_logins, face_checks, principals, proofing, registration, sessions
from identity.service_layer.context import Identity

from shared.catalog import PersonRegistrationWithdrawn, SessionsRevoked
from shared.errors import RateLimited
from tests.support import identities as ids
from tests.support.fakes.identity import FakeFaces, FakeIdentityStorage, FakeProofing


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage() -> FakeIdentityStorage:
    return FakeIdentityStorage()


@pytest.fixture
def proofs() -> FakeProofing:
    return FakeProofing()


@pytest.fixture
def ctx(storage: FakeIdentityStorage, clock: Clock, proofs: FakeProofing) -> Identity:
    settings = IdentitySettings(env="test", lock_max_failures=3)  # type: ignore[call-arg]
    return Identity(storage=storage, passwords=Argon2Passwords(FAST_TEST_PARAMS),
                    signer=TokenSigner([_new_key()]), faces=FakeFaces(), settings=settings,
                    person_key_secret=b"k" * 32, clock=clock, realname=proofs, registry=proofs)


async def _person(ctx: Identity, **overrides: Any) -> dict[str, Any]:
    body = ids.person(**overrides)
    person_id = (await registration.register_person(ctx, RegisterPerson.model_validate(body))).id
    return {**body, "person_id": person_id}


def _password(username: str, password: str, role: str = "person", **kw: Any) -> PasswordLogin:
    return PasswordLogin.model_validate({"method": "password", "role": role, "username": username,
                                         "password": password, **kw})


async def test_a_registered_person_logs_in_and_sees_itself(ctx: Identity) -> None:
    person = await _person(ctx)
    login = _password(person["phone"], person["password"])
    tokens = await sessions.login_with_password(ctx, login, "10.0.0.1")
    assert tokens.principal.id == person["person_id"] and tokens.principal.role == "person"
    me = await sessions.me(ctx, tokens.principal)
    assert me["phone_masked"].endswith(person["phone"][-4:]) and me["certificate_status"] == "none"
    described = await principals.describe(ctx, person["person_id"])
    assert described["id_number"] == person["id_number"]


async def test_a_second_registration_of_an_element_is_refused(ctx: Identity,
                                                               storage: FakeIdentityStorage) -> None:
    person = await _person(ctx)
    for overrides, field in [({"id_number": person["id_number"]}, "id_number"),
                             ({"phone": person["phone"]}, "phone")]:
        with pytest.raises(AlreadyRegistered) as refused:
            await _person(ctx, **overrides)
        assert refused.value.errors[0]["field"] == field
    enterprise = RegisterEnterprise.model_validate(ids.enterprise())
    await registration.register_enterprise(ctx, enterprise)
    with pytest.raises(AlreadyRegistered):
        await registration.register_enterprise(ctx, enterprise)
    assert len(storage.state.accounts) == 2


async def test_wrong_passwords_lock_the_account_and_the_lock_ends(ctx: Identity, clock: Clock,
                                                                  storage: FakeIdentityStorage) -> None:
    person = await _person(ctx)
    wrong = _password(person["phone"], person["password"] + "x")
    for left in (2, 1):
        with pytest.raises(InvalidCredentials) as refused:
            await sessions.login_with_password(ctx, wrong, None)
        assert refused.value.extra["attempts_left"] == left
    with pytest.raises(AccountLocked):
        await sessions.login_with_password(ctx, wrong, None)
    right = _password(person["phone"], person["password"])
    with pytest.raises(AccountLocked):  # not even checked while locked
        await sessions.login_with_password(ctx, right, None)
    stream = storage.state.streams[f"login-{person['person_id']}"]
    assert [type(e) for e in stream] == [LoginLocked]
    clock.now += timedelta(minutes=16)
    await sessions.login_with_password(ctx, right, None)
    account = storage.state.accounts[person["person_id"]].account
    assert account.lock.failures == 0


async def test_an_unknown_username_is_invalid_and_attempts_are_throttled(ctx: Identity) -> None:
    with pytest.raises(InvalidCredentials):
        await sessions.login_with_password(ctx, _password("13800138000", "whatever1"), "10.0.0.2")
    with pytest.raises(RateLimited):
        for _ in range(ctx.settings.login_limit_per_username):
            with pytest.raises(InvalidCredentials):
                await sessions.login_with_password(ctx, _password("13800138000", "whatever1"), "10.0.0.2")


async def test_refresh_rotates_and_a_replayed_token_ends_every_session(ctx: Identity) -> None:
    person = await _person(ctx)
    first = await sessions.login_with_password(ctx, _password(person["phone"], person["password"]), None)
    other = await sessions.login_with_password(ctx, _password(person["phone"], person["password"]), None)
    rotated = await sessions.refresh(ctx, RefreshSession(refresh_token=first.refresh_token))
    assert rotated.refresh_token != first.refresh_token
    with pytest.raises(InvalidRefreshToken):  # the old one again: someone copied it
        await sessions.refresh(ctx, RefreshSession(refresh_token=first.refresh_token))
    for tokens in (rotated, other):
        with pytest.raises(SessionEnded):
            await sessions.me(ctx, tokens.principal)
    revoked = await principals.recent_revocations(ctx)
    assert [(r["principal_id"], r["reason"]) for r in revoked] == [(str(person["person_id"]), "other")]


async def test_logout_ends_this_session_only(ctx: Identity, storage: FakeIdentityStorage) -> None:
    person = await _person(ctx)
    first = await sessions.login_with_password(ctx, _password(person["phone"], person["password"]), None)
    second = await sessions.login_with_password(ctx, _password(person["phone"], person["password"]), None)
    await sessions.logout(ctx, first.principal)
    with pytest.raises(SessionEnded):
        await sessions.me(ctx, first.principal)
    await sessions.me(ctx, second.principal)
    stream = storage.state.streams[f"login-{person['person_id']}"]
    assert isinstance(stream[-1], SessionsRevoked) and stream[-1].session_id == first.principal.session_id


async def test_agent_logins_are_created_once_and_removed_with_their_sessions(ctx: Identity) -> None:
    enterprise_body = ids.enterprise()
    enterprise_id = (await registration.register_enterprise(
        ctx, RegisterEnterprise.model_validate(enterprise_body))).id
    agent_id, body = uuid.uuid4(), ids.agent()
    today = date.today()
    cmd = CreateAgentLogin.model_validate({
        "enterprise_id": str(enterprise_id), "name": body["name"], "id_type": "resident_id_card",
        "id_number": body["id_number"], "phone": body["phone"], "password": body["password"],
        "valid_from": str(today - timedelta(days=1)), "valid_to": str(today + timedelta(days=30)),
        "can_manage": True})
    assert await agent_logins.create(ctx, agent_id, cmd) is True
    assert await agent_logins.create(ctx, agent_id, cmd) is False  # a retry
    with pytest.raises(AgentLoginConflict):
        await agent_logins.create(ctx, uuid.uuid4(), cmd)  # same phone in the enterprise
    login = _password(body["phone"], body["password"], role="agent",
                      enterprise_uscc=enterprise_body["uscc"])
    tokens = await sessions.login_with_password(ctx, login, None)
    assert tokens.principal.role == "agent" and tokens.principal.can_manage is True
    await agent_logins.remove(ctx, agent_id)
    await agent_logins.remove(ctx, agent_id)  # idempotent
    with pytest.raises(SessionEnded):
        await sessions.me(ctx, tokens.principal)
    with pytest.raises(InvalidCredentials):
        await sessions.login_with_password(ctx, login, None)


async def test_a_provider_verdict_is_fetched_for_the_person_and_gives_a_token_once(ctx: Identity) -> None:
    faces = ctx.faces
    assert isinstance(faces, FakeFaces)
    person = await _person(ctx)
    started = await face_checks.start(ctx, person["person_id"], "issue_seal")
    check, whom = faces.begun[-1]
    assert whom is not None and (whom.name, whom.id_number) == (person["name"], person["id_number"])
    check_id = uuid.UUID(started["face_check_id"])
    assert (await face_checks.fetch_result(ctx, check_id))["status"] == "pending"
    faces.verdict = "passed"
    passed = await face_checks.fetch_result(ctx, check_id)
    assert passed["status"] == "passed" and passed["face_token"]
    assert await face_checks.fetch_result(ctx, check_id) == {"face_check_id": str(check_id),
                                                             "status": "passed"}
    used = await face_checks.consume(ctx, passed["face_token"], person["person_id"], "issue_seal")
    assert used.provider_ref == f"ref-{check.id}"


async def test_an_enterprise_is_checked_as_its_legal_representative(ctx: Identity) -> None:
    body = ids.enterprise()
    enterprise_id = (await registration.register_enterprise(ctx, RegisterEnterprise.model_validate(body))).id
    await face_checks.start(ctx, enterprise_id, "issue_seal")
    whom = ctx.faces.begun[-1][1]  # type: ignore[attr-defined]
    rep = body["legal_representative"]
    assert whom is not None and (whom.name, whom.id_number) == (rep["name"], rep["id_number"])


# proofing at registration --------------------------------------------------------------


async def test_a_person_is_registered_verified_by_the_three_elements(
        ctx: Identity, storage: FakeIdentityStorage, proofs: FakeProofing) -> None:
    person = await _person(ctx)
    assert proofs.calls == [(person["name"], "resident_id_card", person["id_number"], person["phone"])]
    events = storage.state.streams[str(person["person_id"])]
    assert [e.event_type for e in events] == ["PersonRegistered", "PersonVerified"]
    await sessions.login_with_password(ctx, _password(person["phone"], person["password"]), None)


async def test_a_refused_three_element_check_registers_nobody(
        ctx: Identity, storage: FakeIdentityStorage, proofs: FakeProofing) -> None:
    proofs.refuse = "phone"
    body = ids.person()
    with pytest.raises(RealNameMismatch) as refused:
        await registration.register_person(ctx, RegisterPerson.model_validate(body))
    problem = refused.value.to_problem()
    assert problem["code"] == "realname_mismatch" and problem["status"] == 422
    assert problem["errors"][0]["field"] == "phone"
    assert body["phone"] not in str(problem) and body["id_number"] not in str(problem)
    assert not storage.state.accounts
    failed = [e for events in storage.state.streams.values() for e in events]
    assert [e.event_type for e in failed] == ["PersonVerificationFailed"]
    assert body["id_number"] not in failed[0].model_dump_json()


async def test_an_outage_registers_the_person_pending_and_a_later_login_retries(
        ctx: Identity, storage: FakeIdentityStorage, proofs: FakeProofing) -> None:
    proofs.out = True
    body = ids.person()
    done = await registration.register_person(ctx, RegisterPerson.model_validate(body))
    assert done.verification == "pending_verification"
    login = _password(body["phone"], body["password"])
    with pytest.raises(AccountPendingVerification) as pending:
        await sessions.login_with_password(ctx, login, None)
    assert pending.value.to_problem()["status"] == 403
    assert not storage.state.sessions
    proofs.out = False
    tokens = await sessions.login_with_password(ctx, login, None)
    assert tokens.principal.id == done.id
    events = storage.state.streams[str(done.id)]
    assert [e.event_type for e in events] == ["PersonRegistered", "PersonVerificationPending",
                                              "PersonVerified"]
    proofs.out = True  # verified once is verified: no further check
    await sessions.login_with_password(ctx, login, None)


async def test_a_pending_person_refused_at_the_retry_stays_pending(
        ctx: Identity, proofs: FakeProofing) -> None:
    proofs.out = True
    body = ids.person()
    await registration.register_person(ctx, RegisterPerson.model_validate(body))
    proofs.out, proofs.refuse = False, "id_number"
    with pytest.raises(RealNameMismatch):
        await sessions.login_with_password(ctx, _password(body["id_number"], body["password"]), None)
    proofs.refuse = None
    await sessions.login_with_password(ctx, _password(body["id_number"], body["password"]), None)


async def test_a_verified_registration_supersedes_pending_accounts_of_its_elements(
        ctx: Identity, storage: FakeIdentityStorage, proofs: FakeProofing) -> None:
    """Someone registered a person's ID number (and another their phone) while the provider
    was down; the person registers with their own elements, verified: both pending accounts
    are withdrawn in the same transaction and the person has the elements."""
    real = ids.person()
    proofs.out = True
    squatter = await registration.register_person(ctx, RegisterPerson.model_validate(
        {**ids.person(), "id_number": real["id_number"]}))
    wrong_phone = await registration.register_person(ctx, RegisterPerson.model_validate(
        {**ids.person(), "phone": real["phone"]}))
    with pytest.raises(AlreadyRegistered):  # still pending: a pending one does not supersede
        await registration.register_person(ctx, RegisterPerson.model_validate(real))
    proofs.out = False
    done = await registration.register_person(ctx, RegisterPerson.model_validate(real))
    assert done.verification == "verified"
    for gone in (squatter.id, wrong_phone.id):
        assert gone not in storage.state.accounts
        withdrawn = storage.state.streams[str(gone)][-1]
        assert isinstance(withdrawn, PersonRegistrationWithdrawn) and withdrawn.superseded_by == done.id
    tokens = await sessions.login_with_password(ctx, _password(real["id_number"], real["password"]), None)
    assert tokens.principal.id == done.id
    with pytest.raises(AlreadyRegistered):  # a verified account is never superseded
        await registration.register_person(ctx, RegisterPerson.model_validate(
            {**ids.person(), "id_number": real["id_number"]}))


async def test_an_enterprise_the_registry_refuses_or_cannot_confirm_is_not_registered(
        ctx: Identity, storage: FakeIdentityStorage, proofs: FakeProofing) -> None:
    proofs.refuse = "legal_representative.name"
    with pytest.raises(RegistryMismatch) as refused:
        await registration.register_enterprise(ctx, RegisterEnterprise.model_validate(ids.enterprise()))
    assert refused.value.to_problem()["errors"][0]["field"] == "legal_representative.name"
    proofs.refuse, proofs.out = None, True
    with pytest.raises(RegistryUnavailable):
        await registration.register_enterprise(ctx, RegisterEnterprise.model_validate(ids.enterprise()))
    assert not storage.state.accounts


async def test_an_enterprise_is_verified_by_its_legal_representatives_face(
        ctx: Identity, storage: FakeIdentityStorage) -> None:
    body = ids.enterprise()
    done = await registration.register_enterprise(ctx, RegisterEnterprise.model_validate(body))
    assert done.verification == "pending_verification"
    assert (await principals.describe(ctx, done.id))["verification"] == "pending_verification"

    async def token(purpose: Any) -> str:
        started = await face_checks.start(ctx, done.id, purpose)
        passed = await face_checks.record_verdict(ctx, uuid.UUID(started["face_check_id"]), True)
        assert passed is not None
        return passed

    with pytest.raises(FaceTokenMismatch):  # a token for another purpose does not verify
        await proofing.verify_enterprise(ctx, done.id, "enterprise", await token("issue_seal"))
    with pytest.raises(NotAnEnterprise):
        await proofing.verify_enterprise(ctx, done.id, "agent", await token("enterprise_verification"))
    answer = await proofing.verify_enterprise(ctx, done.id, "enterprise",
                                              await token("enterprise_verification"))
    assert answer == {"enterprise_id": str(done.id), "verification": "verified"}
    assert (await principals.describe(ctx, done.id))["verification"] == "verified"
    assert [e.event_type for e in storage.state.streams[str(done.id)]] == [
        "EnterpriseRegistered", "EnterpriseRegistryVerified", "EnterpriseVerified"]
    with pytest.raises(AlreadyVerified):
        await proofing.verify_enterprise(ctx, done.id, "enterprise", await token("enterprise_verification"))
