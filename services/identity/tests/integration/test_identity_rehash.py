"""A password hashed with older Argon2 parameters is re-hashed with the current ones at login
(the only moment the password is at hand): real identity in-process, its own database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest_asyncio
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from identity.adapters.passwords import FAST_TEST_PARAMS, Argon2Passwords
from identity.bootstrap import MIGRATIONS, IdentitySettings, create_app

from devstack.stack import delete_vhost, drop_databases, ensure_vhost
from shared.service import prepare_database
from tests.support import identities as ids
from tests.support.api import Api


@dataclass
class Identity:
    api: Api
    database_url: str

    async def password_hash(self, person_id: str) -> str:
        conn = await asyncpg.connect(self.database_url)
        try:
            return str(await conn.fetchval("SELECT password_hash FROM accounts WHERE id = $1",
                                           uuid.UUID(person_id)))
        finally:
            await conn.close()

    async def set_password_hash(self, person_id: str, password_hash: str) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            await conn.execute("UPDATE accounts SET password_hash = $2 WHERE id = $1",
                               uuid.UUID(person_id), password_hash)
        finally:
            await conn.close()


@pytest_asyncio.fixture(scope="module")
async def identity() -> AsyncIterator[Identity]:
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_rehash_{run}", f"eseal_rh{run}_"
    ensure_vhost(vhost)
    settings = IdentitySettings(env="test", db_prefix=prefix, db_pool_max=4,  # type: ignore[arg-type]
                                amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                                test_fast_kdf=True)
    await prepare_database(settings, MIGRATIONS)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    api = Api(f"http://127.0.0.1:{server.port}")
    try:
        yield Identity(api, settings.database_url)
    finally:
        await api.close()
        await server.close()
        await drop_databases(prefix)
        delete_vhost(vhost)


CURRENT = Argon2Passwords(FAST_TEST_PARAMS)  # what the service under test hashes with


async def test_a_login_rehashes_a_hash_made_with_older_parameters(identity: Identity) -> None:
    person = await ids.register_person(identity.api)
    older = PasswordHasher(time_cost=FAST_TEST_PARAMS.time_cost + 1,
                           memory_cost=FAST_TEST_PARAMS.memory_kib,
                           parallelism=FAST_TEST_PARAMS.parallelism).hash(person["password"])
    await identity.set_password_hash(person["person_id"], older)
    assert CURRENT.needs_rehash(older)

    await ids.login(identity.api, "person", person["id_number"], person["password"])

    renewed = await identity.password_hash(person["person_id"])
    assert renewed != older and not CURRENT.needs_rehash(renewed)
    assert await CURRENT.verify(renewed, person["password"])
    # and the renewed hash is the one that works from now on
    await ids.login(identity.api, "person", person["id_number"], person["password"])


async def test_a_current_hash_is_left_alone_and_a_wrong_password_rehashes_nothing(
        identity: Identity) -> None:
    person = await ids.register_person(identity.api)
    current = await identity.password_hash(person["person_id"])
    await ids.login(identity.api, "person", person["id_number"], person["password"])
    assert await identity.password_hash(person["person_id"]) == current

    older = PasswordHasher(time_cost=FAST_TEST_PARAMS.time_cost + 1,
                           memory_cost=FAST_TEST_PARAMS.memory_kib,
                           parallelism=FAST_TEST_PARAMS.parallelism).hash(person["password"])
    await identity.set_password_hash(person["person_id"], older)
    wrong = await identity.api.post("/api/v1/sessions", json={
        "method": "password", "role": "person", "username": person["id_number"],
        "password": person["password"] + "x"})
    assert wrong.status == 401, wrong
    assert await identity.password_hash(person["person_id"]) == older
