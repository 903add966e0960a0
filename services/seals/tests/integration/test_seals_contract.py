"""Contract of the seals storage port: each check runs against the in-memory fake
(``tests/support/fakes/seals.py``) and against ``PgSealStorage`` on its own PostgreSQL
database, so tests on the fake mean something (as pyeventsourcing runs one suite over its
recorders). The operations the service layer leans on most: a seal by id, grants and a
person's live grant, and appending (events, their state rows, the unique rules, rollback).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from seals.adapters.repository import PgSealStorage
from seals.bootstrap import MIGRATIONS
from seals.domain import grant as grant_rules
from seals.domain import seal as seal_rules
from seals.domain import signature as signature_rules
from seals.domain.errors import GrantExists, SealTypeTaken, SignatureExists
from seals.domain.grant import Window
from seals.projections.state import STATE
from seals.service_layer.ports import EnterpriseInfo, SealCertificate, SealStorage

from devstack.stack import drop_databases
from shared.catalog import AuthorizationGranted, SealIssued
from shared.db import create_pool, ensure_database, migrate
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from shared.unit_of_work import Database
from tests.support.fakes.seals import FakeSealStorage

PG_URL = "postgresql://postgres@127.0.0.1:5432"
PREFIX = f"eseal_sc{uuid.uuid4().hex[:8]}_"
TODAY = date(2026, 3, 1)
CERTIFICATE = SealCertificate("cert-1", "0A1B", "-----BEGIN CERTIFICATE-----", ["chain"])


@pytest_asyncio.fixture(scope="module")
async def pg_storage() -> AsyncIterator[PgSealStorage]:
    name = f"{PREFIX}seals"
    await ensure_database(PG_URL, name)
    await migrate(f"{PG_URL}/{name}", MIGRATIONS)
    pool = await create_pool(f"{PG_URL}/{name}", max_size=4)
    try:
        yield PgSealStorage(Database(pool, EventStore("seals"), (STATE,)))
    finally:
        await asyncio.wait_for(pool.close(), 10)
        await drop_databases(PREFIX)


@pytest.fixture(params=["fake", "postgres"])
def storage(request: pytest.FixtureRequest, pg_storage: PgSealStorage) -> SealStorage:
    return FakeSealStorage() if request.param == "fake" else pg_storage


def _issued(enterprise_id: uuid.UUID, type_code: str = "contract") -> SealIssued:
    return seal_rules.issue_seal(seal_id=uuid.uuid4(), enterprise_id=enterprise_id, type_code=type_code,
                                 name="合同专用章", image_sha256="ab" * 32, certificate_serial="0A1B",
                                 issued_by=enterprise_id)


async def _new_seal(storage: SealStorage, enterprise_id: uuid.UUID | None = None) -> SealIssued:
    issued = _issued(enterprise_id or uuid.uuid4())
    async with storage.transaction() as repo:
        await repo.append(issued.seal_id, "seal", 0, [issued], issued.issued_by)
        await repo.insert_seal_blobs(issued.seal_id, b"png", "cd" * 32, CERTIFICATE)
    return issued


def _granted(issued: SealIssued, person_id: uuid.UUID | None = None,
             window: Window = Window(TODAY, TODAY + timedelta(days=30))) -> AuthorizationGranted:
    seal = seal_rules.fold([issued])
    assert seal is not None
    return grant_rules.grant_authorization(
        grant_id=uuid.uuid4(), seal=seal, person_id=person_id or uuid.uuid4(), window=window,
        today=TODAY, granted_by=issued.enterprise_id, person_name="张三",
        id_number_masked="1101**********0021")


async def _grant(storage: SealStorage, granted: AuthorizationGranted) -> None:
    async with storage.transaction() as repo:
        await repo.append(granted.grant_id, "grant", 0, [granted], granted.granted_by)


# a seal by id ----------------------------------------------------------------------------


async def test_an_issued_seal_is_found_by_id_with_its_blobs(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    async with storage.connection() as repo:
        row = await repo.get_seal(issued.seal_id)
        assert await repo.get_seal(uuid.uuid4()) is None
        assert await repo.active_seal_of_type(issued.enterprise_id, "contract") == row
        assert await repo.active_seal_of_type(issued.enterprise_id, "finance") is None
        assert await repo.seal_image(issued.seal_id) == (b"png", "cd" * 32)
        assert await repo.seal_certificate(issued.seal_id) == CERTIFICATE
        assert await repo.enterprise_seals(issued.enterprise_id) == [row]
        events = await repo.load(issued.seal_id)
    assert row is not None
    assert (row.enterprise_id, row.type, row.name, row.status, row.image_sha256, row.certificate_serial,
            row.issued_by, row.revoked_at, row.version) == \
        (issued.enterprise_id, "contract", issued.name, "active", issued.image_sha256, "0A1B",
         issued.issued_by, None, 1)
    assert row.aggregate() == seal_rules.fold(events)


async def test_the_stamp_esl_is_kept_per_seal_certificate(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    async with storage.connection() as repo:
        assert await repo.stamp_esl(issued.seal_id, "01") is None
        await repo.keep_stamp_esl(issued.seal_id, "01", b"esl-1")
        assert await repo.stamp_esl(issued.seal_id, "01") == b"esl-1"
        assert await repo.stamp_esl(issued.seal_id, "02") is None  # made for another certificate
        await repo.keep_stamp_esl(issued.seal_id, "02", b"esl-2")  # the renewed one replaces it
        assert await repo.stamp_esl(issued.seal_id, "02") == b"esl-2"
        assert await repo.stamp_esl(issued.seal_id, "01") is None
        assert await repo.stamp_esl(uuid.uuid4(), "02") is None


async def test_a_revoked_seal_keeps_its_row_and_frees_its_type(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    async with storage.transaction() as repo:
        await repo.get_seal(issued.seal_id, lock="update")
        seal = seal_rules.fold(await repo.load(issued.seal_id))
        assert seal is not None
        event = seal_rules.revoke_seal(seal, by=issued.issued_by, at=at, reason="lost")
        await repo.append(issued.seal_id, "seal", seal.version, [event], issued.issued_by)
    async with storage.connection() as repo:
        row = await repo.get_seal(issued.seal_id)
        assert await repo.active_seal_of_type(issued.enterprise_id, "contract") is None
    assert row is not None
    assert (row.status, row.revoked_at, row.revoked_by, row.revoke_reason, row.version) == \
        ("revoked", at, issued.issued_by, "lost", 2)
    again = await _new_seal(storage, issued.enterprise_id)  # the type is free again
    async with storage.connection() as repo:
        assert [r.seal_id for r in await repo.enterprise_seals(issued.enterprise_id)] == \
            [issued.seal_id, again.seal_id]


async def test_one_active_seal_per_type_and_a_refusal_writes_nothing(storage: SealStorage) -> None:
    first = await _new_seal(storage)
    second = _issued(first.enterprise_id)
    with pytest.raises(SealTypeTaken):
        async with storage.transaction() as repo:
            await repo.lock_seal_type(first.enterprise_id, "contract")
            await repo.append(second.seal_id, "seal", 0, [second], second.issued_by)
    async with storage.connection() as repo:
        assert await repo.get_seal(second.seal_id) is None
        assert await repo.load(second.seal_id) == []


# appending -------------------------------------------------------------------------------


async def test_a_stale_version_conflicts_and_writes_nothing(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    seal = seal_rules.fold([issued])
    assert seal is not None
    event = seal_rules.revoke_seal(seal, by=issued.issued_by, at=datetime.now(UTC), reason="")
    for version in (0, 2):
        with pytest.raises(ConcurrencyError):
            async with storage.transaction() as repo:
                await repo.append(issued.seal_id, "seal", version, [event], issued.issued_by)
    async with storage.connection() as repo:
        row = await repo.get_seal(issued.seal_id)
        assert len(await repo.load(issued.seal_id)) == 1
    assert row is not None and (row.status, row.version) == ("active", 1)


async def test_a_failed_transaction_leaves_nothing(storage: SealStorage) -> None:
    issued = _issued(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with storage.transaction() as repo:
            await repo.append(issued.seal_id, "seal", 0, [issued], issued.issued_by)
            await repo.insert_seal_blobs(issued.seal_id, b"png", "cd" * 32, CERTIFICATE)
            await repo.add_pending_revocation(issued.seal_id, "cessationOfOperation")
            raise RuntimeError("certs refused")
    async with storage.connection() as repo:
        assert await repo.get_seal(issued.seal_id) is None
        assert await repo.load(issued.seal_id) == []
        assert await repo.seal_image(issued.seal_id) is None
        assert await repo.seal_certificate(issued.seal_id) is None
        assert (issued.seal_id, "cessationOfOperation") not in await repo.due_pending_revocations(1000)


async def test_one_signature_per_person(storage: SealStorage) -> None:
    person_id = uuid.uuid4()
    created = [signature_rules.create_signature(signature_id=uuid.uuid4(), person_id=person_id,
                                                method="generated", image_sha256="ef" * 32)
               for _ in range(2)]
    async with storage.transaction() as repo:
        await repo.append(created[0].signature_id, "signature", 0, [created[0]], person_id)
        await repo.insert_signature_image(created[0].signature_id, b"sig", "ef" * 32)
    with pytest.raises(SignatureExists):
        async with storage.transaction() as repo:
            await repo.append(created[1].signature_id, "signature", 0, [created[1]], person_id)
    async with storage.transaction() as repo:
        row = await repo.live_signature(person_id, lock="update")
        assert row is not None and (row.signature_id, row.method, row.version) == \
            (created[0].signature_id, "generated", 1)
        sig = signature_rules.fold(await repo.load(row.signature_id))
        assert sig is not None
        await repo.append(row.signature_id, "signature", 1, [signature_rules.delete_signature(sig)],
                          person_id)
        await repo.delete_signature_image(row.signature_id)
    async with storage.transaction() as repo:  # deleted: a new one is fine
        assert await repo.live_signature(person_id) is None
        assert await repo.signature_image(created[0].signature_id) is None
        await repo.append(created[1].signature_id, "signature", 0, [created[1]], person_id)
        assert (await repo.live_signature(person_id)) is not None


# grants ----------------------------------------------------------------------------------


async def test_a_grant_is_found_by_id_and_as_the_persons_live_grant(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    granted = _granted(issued)
    await _grant(storage, granted)
    async with storage.connection() as repo:
        row = await repo.get_grant(granted.grant_id)
        assert await repo.get_grant(uuid.uuid4()) is None
        assert await repo.live_grant(issued.seal_id, granted.person_id, lock=None) == row
        assert await repo.live_grant(issued.seal_id, uuid.uuid4()) is None
        assert await repo.usable_grantees(issued.seal_id, TODAY) == [granted.person_id]
        assert await repo.usable_grantees(issued.seal_id, TODAY - timedelta(days=1)) == []
        events = await repo.load(granted.grant_id)
    assert row is not None
    assert (row.seal_id, row.enterprise_id, row.person_id, row.person_name, row.id_number_masked,
            row.valid_from, row.valid_to, row.deleted, row.granted_by, row.version) == \
        (issued.seal_id, issued.enterprise_id, granted.person_id, "张三", "1101**********0021",
         granted.valid_from, granted.valid_to, False, issued.enterprise_id, 1)
    assert row.created_at == row.updated_at
    assert row.aggregate() == grant_rules.fold(events)


async def test_a_changed_then_revoked_grant_is_no_longer_live(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    granted = _granted(issued)
    await _grant(storage, granted)
    seal = seal_rules.fold([issued])
    assert seal is not None
    async with storage.transaction() as repo:
        grant = grant_rules.fold(await repo.load(granted.grant_id))
        assert grant is not None
        change = grant_rules.change_window(grant, seal=seal, valid_from=None,
                                           valid_to=TODAY + timedelta(days=3))
        assert change is not None
        await repo.append(granted.grant_id, "grant", 1, [change], issued.issued_by)
        row = await repo.live_grant(issued.seal_id, granted.person_id, lock="share")
        assert row is not None and (row.valid_to, row.version) == (TODAY + timedelta(days=3), 2)
        assert row.updated_at > row.created_at
    async with storage.transaction() as repo:
        grant = grant_rules.fold(await repo.load(granted.grant_id))
        assert grant is not None
        revoke = grant_rules.revoke_grant(grant, by=issued.issued_by)
        await repo.append(granted.grant_id, "grant", 2, [revoke], issued.issued_by)
    async with storage.connection() as repo:
        assert await repo.live_grant(issued.seal_id, granted.person_id) is None
        gone = await repo.get_grant(granted.grant_id)
        assert gone is not None and (gone.deleted, gone.version) == (True, 3)
        assert (await repo.list_grants(issued.seal_id, limit=10, after=None)).items == []
    await _grant(storage, _granted(issued, granted.person_id))  # revoked: may be granted again


async def test_one_live_grant_per_seal_and_person(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    granted = _granted(issued)
    await _grant(storage, granted)
    twice = _granted(issued, granted.person_id)
    with pytest.raises(GrantExists):
        await _grant(storage, twice)
    async with storage.connection() as repo:
        assert await repo.get_grant(twice.grant_id) is None
        assert await repo.load(twice.grant_id) == []
    await _grant(storage, _granted(await _new_seal(storage), granted.person_id))  # another seal


async def test_grants_page_oldest_first(storage: SealStorage) -> None:
    issued = await _new_seal(storage)
    grants = [_granted(issued) for _ in range(3)]
    for granted in grants:
        await _grant(storage, granted)
    await _grant(storage, _granted(await _new_seal(storage)))  # another seal's
    async with storage.connection() as repo:
        first = await repo.list_grants(issued.seal_id, limit=2, after=None)
        last = first.items[-1]
        rest = await repo.list_grants(issued.seal_id, limit=2, after=(last.created_at, last.grant_id))
    assert first.next_cursor is not None and rest.next_cursor is None
    assert [g.grant_id for g in first.items + rest.items] == [g.grant_id for g in grants]


async def test_a_person_sees_the_active_seals_granted_to_them(storage: SealStorage) -> None:
    person_id = uuid.uuid4()
    now, later, revoked = [await _new_seal(storage) for _ in range(3)]
    await _grant(storage, _granted(now, person_id))
    pending = Window(TODAY + timedelta(days=5), TODAY + timedelta(days=9))
    await _grant(storage, _granted(later, person_id, pending))
    await _grant(storage, _granted(revoked, person_id))
    seal = seal_rules.fold([revoked])
    assert seal is not None
    async with storage.transaction() as repo:
        info = EnterpriseInfo(now.enterprise_id, "北京某某科技有限公司", "91110000600000000X", "李四")
        await repo.record_enterprise(info)
        await repo.append(revoked.seal_id, "seal", 1, [seal_rules.revoke_seal(
            seal, by=revoked.issued_by, at=datetime.now(UTC), reason="")], revoked.issued_by)
    async with storage.connection() as repo:
        every = await repo.granted_seals(person_id, TODAY)
        usable = await repo.granted_seals(person_id, TODAY, usable_only=True)
        one = await repo.granted_seals(person_id, TODAY, seal_id=later.seal_id)
        assert await repo.enterprise(now.enterprise_id) == info
    assert {g.seal.seal_id for g in every} == {now.seal_id, later.seal_id}
    assert [(g.seal.seal_id, g.enterprise_name, g.enterprise_uscc) for g in usable] == \
        [(now.seal_id, info.name, info.uscc)]
    assert [(g.seal.seal_id, g.enterprise_name, g.grant.person_id) for g in one] == \
        [(later.seal_id, "", person_id)]
