"""What certs publishes and consumes, and what it never keeps in the clear."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import pytest
from certs.adapters.authority import CrlUrls, load_or_create
from certs.adapters.crypto.keywrap import (
    MasterKey,
    MasterKeyMismatch,
    WrappedKey,
    make_aad,
    unwrap_with_master,
    unwrap_with_password,
)
from certs.adapters.crypto.signing import load_private_key_der
from certs.bootstrap import MIGRATIONS
from certs.config import CertsSettings
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from shared.bus import declare_events_exchange
from shared.catalog import AgentRemoved
from shared.db import drop_database
from shared.service import prepare_database
from tests.support.bus import connect_bus
from tests.support.harnesses.certs import PASSWORD, CertsHarness
from tests.support.polling import eventually

PKCS8_P256_PREFIX = bytes.fromhex("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420")


async def test_public_events_are_published_private_ones_are_not(certs: CertsHarness) -> None:
    connection = await aio_pika.connect_robust(certs.settings.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="certs.#")
        user = certs.person()
        view = await certs.activate(user)
        seal_id = uuid.uuid4()
        body = {"seal_id": str(seal_id), "enterprise_id": str(uuid.uuid4()),
                "enterprise_name": "吉林省测试有限公司", "enterprise_uscc": "91220102MA00000000",
                "seal_name": "吉林省测试有限公司公章", "seal_type": "official",
                "seal_type_label": "公章"}
        issued = await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
        await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                            internal=True, json={"reason": "seal_revoked"})

        got: list[dict[str, Any]] = []

        async def collect() -> bool:
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                got.append(json.loads(message.body))
            mine = [e for e in got if e["stream_id"] in (view["certificate_id"],
                                                           issued.json["certificate_id"])]
            return len(mine) >= 5

        await eventually(collect, what="certs' five events on the bus")
    finally:
        await connection.close()
    mine = [e for e in got if e["stream_id"] in (view["certificate_id"], issued.json["certificate_id"])]
    assert sorted(e["type"] for e in mine) == ["CertificateIssued", "CertificateIssued",
                                               "CertificateRevoked", "Sm2CertificateIssued",
                                               "Sm2CertificateIssued"]
    assert not {e["type"] for e in got} - {"CertificateIssued", "CertificateRevoked",
                                           "Sm2CertificateIssued"}
    sm2_twins = {e["data"]["owner_type"]: e["data"] for e in mine if e["type"] == "Sm2CertificateIssued"}
    assert sm2_twins["person"]["certificate_id"] == view["certificate_id"]
    assert sm2_twins["person"]["algorithm"] == "sm2-sm3"
    assert sm2_twins["seal"]["owner_id"] == str(seal_id)
    assert sm2_twins["seal"]["serial_number"] != issued.json["serial_number"]
    person_issued = next(e for e in mine if e["data"]["owner_type"] == "person"
                         and e["type"] == "CertificateIssued")
    assert person_issued["data"]["owner_id"] == str(user.id)
    assert person_issued["data"]["serial_number"] == view["serial_number"]
    revoked = next(e for e in mine if e["type"] == "CertificateRevoked")
    assert revoked["data"]["serial_number"] == issued.json["serial_number"]
    assert revoked["producer"] == "certs"
    text = json.dumps(got, ensure_ascii=False)
    assert PASSWORD not in text and "PRIVATE KEY" not in text
    assert (user.record.id_number or "?") not in text


async def test_removing_an_agent_revokes_its_certificate(certs: CertsHarness) -> None:
    enterprise = certs.enterprise()
    agent = certs.agent(enterprise)
    view = await certs.activate(agent)
    async with connect_bus(certs.settings.amqp_url) as bus:
        await bus.publish(AgentRemoved(agent_id=agent.id, enterprise_id=enterprise.id,
                                       removed_by=enterprise.id), stream_id=agent.id)

    async def revoked() -> bool:
        rows = await certs.sql("SELECT status FROM certificates WHERE certificate_id = $1",
                               uuid.UUID(view["certificate_id"]))
        return rows[0]["status"] == "revoked"

    await eventually(revoked, what="the agent's certificate revoked")
    crl = x509.load_der_x509_crl((await certs.request("GET", "/api/v1/ca/crl")).body)
    entry = crl.get_revoked_certificate_by_serial_number(int(view["serial_number"], 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
        x509.ReasonFlags.affiliation_changed
    r = await certs.sign(agent, hashlib.sha256(b"x").digest())
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r


async def _dump_database(dsn: str) -> str:
    """Every column of every table of the database, cast to text."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        parts = []
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" AS t')
            parts.extend(r["row"] for r in rows)
        return "\n".join(parts)
    finally:
        await conn.close()


def _forms(secret: bytes) -> list[str]:
    """How a secret could show up in a text dump: hex (bytea), base64, decimal."""
    return [secret.hex(), base64.b64encode(secret).decode(), str(int.from_bytes(secret, "big"))]


async def test_no_password_or_private_key_in_the_database(certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    new = "Other#pw2026"
    r = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": new, "new_password_confirm": new})
    assert r.status == 204
    await certs.sign(user, hashlib.sha256(b"x").digest(), "Wrong#guess1")
    seal = {"seal_id": str(uuid.uuid4()), "enterprise_id": str(uuid.uuid4()),
            "enterprise_name": "吉林省测试有限公司", "enterprise_uscc": "91220102MA00000000",
            "seal_name": "吉林省测试有限公司财务专用章", "seal_type": "finance",
            "seal_type_label": "财务专用章"}
    assert (await certs.request("POST", "/internal/seal-certificates", internal=True,
                                json=seal)).status == 201

    # recover the real private scalars with the keys the test knows (development master key)
    master = MasterKey.for_development()
    key_row = (await certs.sql(
        "SELECT k.wrapped FROM private_keys k JOIN certificates c ON c.key_id = k.key_id"
        " WHERE c.certificate_id = $1", uuid.UUID(view["certificate_id"])))[0]
    der = unwrap_with_password(master, new, WrappedKey.from_bytes(bytes(key_row["wrapped"])),
                               make_aad("user-key", view["certificate_id"]))
    user_scalar = load_private_key_der(der).private_numbers().private_value.to_bytes(32, "big")

    dump = await _dump_database(certs.settings.database_url)
    assert view["serial_number"] in dump  # the dump is real
    for secret in (PASSWORD, new, "Wrong#guess1"):
        assert secret not in dump
    assert "PRIVATE KEY" not in dump
    assert PKCS8_P256_PREFIX.hex() not in dump
    for form in _forms(user_scalar):
        assert form not in dump
    for role, blob in [(r["role"], bytes(r["wrapped_key"])) for r in await certs.sql(
            "SELECT role, wrapped_key FROM authorities")]:
        scalar = load_private_key_der(unwrap_with_master(master, blob, make_aad("ca-key", role)))
        for form in _forms(scalar.private_numbers().private_value.to_bytes(32, "big")):
            assert form not in dump, role


async def test_replicas_starting_together_agree_on_one_ca() -> None:
    settings = CertsSettings(env="test", db_prefix=f"eseal_cb{uuid.uuid4().hex[:8]}_")
    await prepare_database(settings, MIGRATIONS)
    master = MasterKey.generate()
    urls = CrlUrls.under("http://127.0.0.1:8080")

    async def start(key: MasterKey) -> bytes:
        conn = await asyncpg.connect(settings.database_url)
        try:
            material, _ = await load_or_create(conn, key, datetime.now(UTC), urls)
            return material.root.fingerprint(hashes.SHA256())
        finally:
            await conn.close()

    try:
        fingerprints = await asyncio.gather(*(start(master) for _ in range(4)))
        assert len(set(fingerprints)) == 1
        rows = await asyncpg.connect(settings.database_url)
        try:
            # root, issuing CA, TSA and the platform's own sealing certificate
            assert await rows.fetchval("SELECT count(*) FROM authorities") == 4
            # a CA made before the platform certificate gets it on its next start, once
            await rows.execute("DELETE FROM authorities WHERE role = 'platform'")
            serials = []
            for _ in range(2):
                material, created = await load_or_create(rows, master, datetime.now(UTC), urls)
                assert not created
                material.platform.verify_directly_issued_by(material.issuing)
                serials.append(material.platform.serial_number)
            assert serials[0] == serials[1]
            assert await rows.fetchval("SELECT count(*) FROM authorities") == 4
        finally:
            await rows.close()
        with pytest.raises(MasterKeyMismatch):  # another master key cannot open the stored CA
            await start(MasterKey.generate())
    finally:
        await drop_database(settings.pg_url, settings.db_name)


async def test_read_model_rebuilds_from_events_to_the_same_rows(certs: CertsHarness) -> None:
    from certs.projections.certificates import CertificatesProjection

    from shared.projections import rebuild
    from shared.service import DB, STORE

    user = certs.person()
    await certs.activate(user)
    await certs.sign(user, hashlib.sha256(b"x").digest(), "Wrong#guess2")
    seal_id = uuid.uuid4()
    await certs.request("POST", "/internal/seal-certificates", internal=True, json={
        "seal_id": str(seal_id), "enterprise_id": str(uuid.uuid4()),
        "enterprise_name": "吉林省重建测试有限公司", "enterprise_uscc": "91220102MA00000000",
        "seal_name": "吉林省重建测试有限公司公章", "seal_type": "official", "seal_type_label": "公章"})
    await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation", internal=True,
                        json={"reason": "seal_revoked"})
    queries = ("SELECT * FROM certificates ORDER BY certificate_id",
               "SELECT * FROM agreement_acceptances ORDER BY certificate_id, code")
    before = [[dict(r) for r in await certs.sql(q)] for q in queries]
    report = await rebuild(certs.app[DB], certs.app[STORE], CertificatesProjection())
    assert report.events >= 6
    after = [[dict(r) for r in await certs.sql(q)] for q in queries]
    assert after == before
