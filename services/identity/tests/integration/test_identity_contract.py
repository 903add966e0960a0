"""Contract of identity's repository port: every check runs against the in-memory fake
(``tests/support/fakes/identity.py``) and against ``PgIdentityStorage`` on its own
PostgreSQL database, so the service-layer tests on the fake mean something."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from identity.adapters.repository import PgIdentityStorage
from identity.bootstrap import MIGRATIONS
from identity.domain.accounts import Account
from identity.domain.events import LoginLocked
from identity.domain.face import FaceCheck
from identity.projections.revocations import RevocationsProjection
from identity.service_layer.ports import AccountConflict, IdentityStorage, OidcBindingConflict

from devstack.stack import drop_databases
from shared.catalog import SessionsRevoked
from shared.db import create_pool, ensure_database, migrate
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from shared.lockout import LockState
from shared.unit_of_work import Database
from tests.support import identities as ids
from tests.support.fakes.identity import FakeIdentityStorage

PG_URL = "postgresql://postgres@127.0.0.1:5432"
PREFIX = f"eseal_ic{uuid.uuid4().hex[:8]}_"


@pytest_asyncio.fixture(scope="module")
async def pg_storage() -> AsyncIterator[PgIdentityStorage]:
    name = f"{PREFIX}identity"
    await ensure_database(PG_URL, name)
    await migrate(f"{PG_URL}/{name}", MIGRATIONS)
    pool = await create_pool(f"{PG_URL}/{name}", max_size=4)
    try:
        yield PgIdentityStorage(Database(pool, EventStore("identity"), (RevocationsProjection(),)))
    finally:
        await asyncio.wait_for(pool.close(), 10)
        await drop_databases(PREFIX)


@pytest.fixture(params=["fake", "postgres"])
def storage(request: pytest.FixtureRequest, pg_storage: PgIdentityStorage) -> IdentityStorage:
    return FakeIdentityStorage() if request.param == "fake" else pg_storage


def person() -> Account:
    return Account(id=uuid.uuid4(), role="person", name=ids.person_name(), phone=ids.phone(),
                   password_hash="h1", id_type="resident_id_card", id_number=ids.id_number())


def enterprise() -> Account:
    enterprise_id = uuid.uuid4()
    return Account(id=enterprise_id, role="enterprise", name=ids.enterprise_name(), phone=ids.phone(),
                   password_hash="h1", id_type="resident_id_card", id_number=ids.id_number(),
                   enterprise_id=enterprise_id, enterprise_name="E", enterprise_uscc=ids.uscc(),
                   legal_representative_name=ids.person_name())


def agent(of: Account, phone: str | None = None) -> Account:
    today = date.today()
    return Account(id=uuid.uuid4(), role="agent", name=ids.person_name(), phone=phone or ids.phone(),
                   password_hash="h1", id_type="resident_id_card", id_number=ids.id_number(),
                   enterprise_id=of.id, enterprise_name=of.name, enterprise_uscc=of.enterprise_uscc,
                   can_manage=True, valid_from=today, valid_to=today + timedelta(days=9))


async def insert(storage: IdentityStorage, *accounts: Account) -> None:
    async with storage.transaction() as repo:
        for account in accounts:
            await repo.insert_account(account)


async def test_accounts_are_found_by_what_their_users_type(storage: IdentityStorage) -> None:
    p, e = person(), enterprise()
    a = agent(e)
    await insert(storage, p, e, a)
    async with storage.connection() as repo:
        assert await repo.get_account(p.id) == p
        assert await repo.get_account(uuid.uuid4()) is None
        assert await repo.find_login("person", p.phone, None) == p
        assert await repo.find_login("person", p.id_number or "", None) == p
        assert await repo.find_login("enterprise", e.enterprise_uscc or "", None) == e
        assert await repo.find_login("agent", a.phone, e.enterprise_uscc) == a
        assert await repo.find_login("agent", a.phone, ids.uscc()) is None
        assert await repo.find_login("enterprise", p.phone, None) is None
        assert await repo.find_enterprise(e.id) == e
        assert await repo.find_enterprise(p.id) is None
        assert await repo.person_by_elements(p.id_number or "") == {"id": p.id, "name": p.name}
        assert await repo.registered_field("person", p.id_number, ids.phone(), None) == "id_number"
        assert await repo.registered_field("person", ids.id_number(), p.phone, None) == "phone"
        assert await repo.registered_field("person", ids.id_number(), ids.phone(), None) is None
        assert await repo.registered_field("enterprise", None, None, e.enterprise_uscc) == "uscc"


async def test_pending_persons_do_not_hold_their_elements_and_are_withdrawn(storage: IdentityStorage) -> None:
    by_number = replace(person(), verification="pending_verification")
    by_phone = replace(person(), verification="pending_verification")
    had_session = replace(person(), verification="pending_verification")
    verified = person()
    await insert(storage, by_number, by_phone, had_session, verified)
    async with storage.transaction() as repo:
        await repo.create_session(uuid.uuid4(), had_session.id, "password", None)
    async with storage.connection() as repo:
        assert await repo.registered_field("person", by_number.id_number, ids.phone(), None) is None
        assert await repo.registered_field("person", ids.id_number(), by_phone.phone, None) is None
    async with storage.transaction() as repo:
        assert await repo.withdraw_pending_persons(ids.id_number(), ids.phone()) == []
        gone = await repo.withdraw_pending_persons(by_number.id_number or "", by_phone.phone)
        assert sorted(gone) == sorted([by_number.id, by_phone.id])
        for kept in (had_session, verified):
            assert await repo.withdraw_pending_persons(kept.id_number or "", kept.phone) == []
    async with storage.connection() as repo:
        assert await repo.get_account(by_number.id) is None and await repo.get_account(by_phone.id) is None
        assert await repo.get_account(had_session.id) == had_session
        assert await repo.get_account(verified.id) == verified


async def test_unique_elements_conflict_with_the_field_named(storage: IdentityStorage) -> None:
    p, e = person(), enterprise()
    a = agent(e)
    await insert(storage, p, e, a)
    for account, field in [(Account(**{**vars(person()), "id_number": p.id_number}), "id_number"),
                           (Account(**{**vars(person()), "phone": p.phone}), "phone"),
                           (Account(**{**vars(enterprise()), "enterprise_uscc": e.enterprise_uscc}), "uscc"),
                           (agent(e, phone=a.phone), "id_number"),
                           (p, "id_number")]:
        with pytest.raises(AccountConflict) as conflict:
            await insert(storage, account)
        assert conflict.value.field == field
    await insert(storage, agent(enterprise(), phone=a.phone))  # another enterprise's agent


async def test_changes_to_an_account(storage: IdentityStorage) -> None:
    e = enterprise()
    a = agent(e)
    await insert(storage, e, a)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
    async with storage.transaction() as repo:
        await repo.save_lock(a.id, LockState(3, until))
        await repo.replace_password_hash(a.id, "not-the-old-one", "h2")  # changed meanwhile: kept
        await repo.update_agent(a.id, can_manage=False, valid_to=a.valid_to)
        changed = await repo.get_account(a.id, for_update=True)
    assert changed is not None and changed.lock == LockState(3, until)
    assert (changed.password_hash, changed.can_manage) == ("h1", False)
    async with storage.transaction() as repo:
        await repo.replace_password_hash(a.id, "h1", "h2")
        await repo.update_agent(a.id, removed_at=datetime.now(UTC))
    async with storage.connection() as repo:
        removed = await repo.get_account(a.id)
        assert removed is not None and removed.removed and removed.password_hash == "h2"
        assert await repo.find_login("agent", a.phone, e.enterprise_uscc) is None
    await insert(storage, agent(e, phone=a.phone))  # a removed agent's phone is free again


async def test_a_pending_account_is_verified_once(storage: IdentityStorage) -> None:
    pending = replace(enterprise(), verification="pending_verification")
    verified = person()
    await insert(storage, pending, verified)
    async with storage.transaction() as repo:
        found = await repo.get_account(pending.id)
        assert found is not None and found.verification == "pending_verification" and not found.verified
        assert await repo.set_verified(pending.id) is True
        assert await repo.set_verified(pending.id) is False  # only once
        assert await repo.set_verified(verified.id) is False  # verified at registration
        assert await repo.set_verified(uuid.uuid4()) is False
    async with storage.connection() as repo:
        found = await repo.find_login("enterprise", pending.enterprise_uscc or "", None)
        assert found is not None and found.verified


async def test_a_failed_transaction_leaves_nothing(storage: IdentityStorage) -> None:
    p = person()
    locked = LoginLocked(principal_id=p.id, locked_until=datetime.now(UTC))
    with pytest.raises(RuntimeError):
        async with storage.transaction() as repo:
            await repo.append(f"login-{p.id}", "login", 0, [locked])
            await repo.insert_account(p)
            raise RuntimeError("after the writes")
    async with storage.connection() as repo:
        assert await repo.get_account(p.id) is None
    async with storage.transaction() as repo:  # and the stream is still empty
        await repo.append(f"login-{p.id}", "login", 0, [locked])
        await repo.insert_account(p)


async def test_login_streams_keep_their_version_and_revocations_are_projected(
        storage: IdentityStorage) -> None:
    p = person()
    await insert(storage, p)
    since = datetime.now(UTC) - timedelta(seconds=5)
    now = datetime.now(UTC)
    revoked = SessionsRevoked(principal_id=p.id, revoked_before=now, reason="logout", session_id="s1")
    async with storage.transaction() as repo:
        await repo.append_login(p.id, [LoginLocked(principal_id=p.id, locked_until=now)])
        await repo.append_login(p.id, [revoked])
    with pytest.raises(ConcurrencyError):
        async with storage.transaction() as repo:
            await repo.append(f"login-{p.id}", "login", 1, [revoked])  # stale: the stream is at 2
    async with storage.connection() as repo:
        recent = [r for r in await repo.recent_revocations(since) if r["principal_id"] == p.id]
    assert recent == [{"principal_id": p.id, "session_id": "s1", "reason": "logout", "revoked_before": now}]


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def test_sessions_and_refresh_tokens(storage: IdentityStorage) -> None:
    p = person()
    await insert(storage, p)
    first, second, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    expires = now + timedelta(days=1)
    async with storage.transaction() as repo:
        await repo.create_session(first, p.id, "password", "10.0.0.1")
        await repo.create_session(second, p.id, "face", None)
        await repo.add_refresh_token(_hash("r1"), first, expires)
    async with storage.transaction() as repo:
        used = await repo.use_refresh_token(_hash("r1"), now)
        assert used == {"session_id": first, "expires_at": expires, "principal_id": p.id,
                        "revoked_at": None, "method": "password"}
        assert await repo.use_refresh_token(_hash("r1"), now) is None  # only once
        assert await repo.use_refresh_token(_hash("nope"), now) is None
        assert await repo.replayed_refresh_token(_hash("r1")) == p.id
        assert await repo.replayed_refresh_token(_hash("nope")) is None
    async with storage.connection() as repo:
        me = await repo.me(p.id, first)
        assert me == {"phone": p.phone, "certificate_status": "none", "valid_from": None, "valid_to": None,
                      "can_manage": None, "enterprise_uscc": None, "verification": "verified"}
        await repo.set_certificate_status(p.id, "active")
        me = await repo.me(p.id, first)
        assert me is not None and me["certificate_status"] == "active"
        # a reset: the new certificate's issue handled before the old one's revocation
        old, new = uuid.uuid4(), uuid.uuid4()
        await repo.set_certificate_status(p.id, "active", old)
        await repo.set_certificate_status(p.id, "active", new)
        await repo.set_certificate_status(p.id, "none", old)
        me = await repo.me(p.id, first)
        assert me is not None and me["certificate_status"] == "active"
        await repo.set_certificate_status(p.id, "none", new)
        me = await repo.me(p.id, first)
        assert me is not None and me["certificate_status"] == "none"
        await repo.set_certificate_status(p.id, "active", new)
        assert await repo.revoke_session(first, now) is True
        assert await repo.revoke_session(first, now) is False
        assert not await repo.session_live(p.id, first) and await repo.session_live(p.id, second)
        assert await repo.me(p.id, first) is None
        assert not await repo.session_live(uuid.uuid4(), second)
        await repo.revoke_sessions_of(p.id, now)
        assert not await repo.session_live(p.id, second)


async def test_face_checks_and_throttle_counters(storage: IdentityStorage) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    check = FaceCheck(uuid.uuid4(), uuid.uuid4(), "add_agent", "pending", now + timedelta(minutes=5))
    async with storage.transaction() as repo:
        await repo.insert_face_check(check)
        assert await repo.face_check_for_update(check.id) == check
        assert await repo.face_check_for_update(uuid.uuid4()) is None
        passed = FaceCheck(check.id, check.subject_id, "add_agent", "passed", check.expires_at,
                           token_expires_at=now + timedelta(minutes=5))
        await repo.save_face_check(passed, _hash("t1"))
        assert await repo.face_check_by_token(_hash("t1")) == passed
        used = FaceCheck(**{**vars(passed), "used_at": now})
        await repo.save_face_check(used)  # no new hash: the token stays
        assert await repo.face_check_by_token(_hash("t1")) == used
        assert await repo.face_check_by_token(_hash("t2")) is None
    # The provider's reference (Tencent's BizToken) is kept with the check.
    with_ref = FaceCheck(uuid.uuid4(), None, "login", "pending", now + timedelta(minutes=5),
                         provider_ref="BIZ-TOKEN-1")
    async with storage.connection() as repo:
        await repo.insert_face_check(with_ref)
        assert await repo.face_check_for_update(with_ref.id) == with_ref
    key, window = f"user:{uuid.uuid4().hex}", now
    async with storage.connection() as repo:
        assert await repo.current_count(key, window) == 0
        assert [await repo.count_hit(key, window) for _ in range(3)] == [1, 2, 3]
        assert await repo.current_count(key, window) == 3
        assert await repo.current_count(key, window + timedelta(minutes=1)) == 0


async def test_oidc_logins_are_used_once_and_bindings_are_one_to_one(storage: IdentityStorage) -> None:
    p, other = person(), person()
    await insert(storage, p, other)
    now = datetime.now(UTC)
    state = f"state-{uuid.uuid4().hex}"
    async with storage.connection() as repo:
        found = await repo.find_person(p.id_number or "")
        assert found is not None and found.id == p.id
        assert await repo.find_person(p.phone) is None  # the number only, never the phone
        await repo.insert_oidc_login(state, "n1", "v1", now + timedelta(minutes=10))
        assert not await repo.oidc_login_used(state)
        login = await repo.use_oidc_login(state, now)
        assert login is not None and (login["nonce"], login["code_verifier"]) == ("n1", "v1")
        assert login["expires_at"] == now + timedelta(minutes=10)
        assert await repo.use_oidc_login(state, now) is None
        assert await repo.oidc_login_used(state)
        assert await repo.use_oidc_login("never-issued", now) is None
        assert not await repo.oidc_login_used("never-issued")

    issuer, sub = "https://idp.example", f"sub-{uuid.uuid4().hex}"
    async with storage.transaction() as repo:
        assert await repo.oidc_binding(issuer, sub) is None
        await repo.bind_oidc(issuer, sub, p.id)
    async with storage.connection() as repo:
        assert await repo.oidc_binding(issuer, sub) == p.id
        assert await repo.oidc_binding("https://other.example", sub) is None
    for taken_sub, account in ((sub, other.id), (f"sub-{uuid.uuid4().hex}", p.id)):
        with pytest.raises(OidcBindingConflict):
            async with storage.transaction() as repo:
                await repo.bind_oidc(issuer, taken_sub, account)
    async with storage.transaction() as repo:  # another issuer is another namespace
        await repo.bind_oidc("https://other.example", sub, other.id)
