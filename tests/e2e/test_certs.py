"""Certificates (数字证书) on the whole platform: real identity, real gateway, real certs.

Activation by SMS code, every refusal a clear 4xx that issues nothing, the certificate
chaining to the published root, password change, the wrong-password lock and its end
(the certs sandbox clock), seal certificates, revocation into the CRL, the TSA, and a scan
of every database and every log line for certificate passwords and private keys.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from shared.internal import internal_token
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply

pytestmark = pytest.mark.e2e

DEV_INTERNAL_SECRET = "dev-only-internal-secret-change-me-in-production"
PASSWORD = "Cert#2026pw"
DIGEST = hashlib.sha256(b"a document").digest()
PKCS8_P256_PREFIX = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420"
# every certificate password any test here used: none may be found anywhere afterwards
USED_PASSWORDS: set[str] = set()


def internal() -> dict[str, str]:
    return {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, "seals", "certs")}


def is_problem(r: Reply, status: int, code: str) -> bool:
    return (r.status == status and r.headers["Content-Type"].startswith("application/problem+json")
            and r.json["code"] == code)


async def agreements(api: Api) -> list[dict[str, str]]:
    r = await api.get("/api/v1/agreements")
    assert r.status == 200, r
    return [{"code": a["code"], "version": a["version"]} for a in r.json["items"]]


async def person(api: Api) -> dict[str, Any]:
    body = await ids.register_person(api)
    session = await ids.login(api, "person", body["phone"], body["password"])
    return {**body, "id": body["person_id"], "token": session["access_token"]}


async def enterprise(api: Api) -> dict[str, Any]:
    body = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", body["uscc"], body["password"])
    return {**body, "id": body["enterprise_id"], "token": session["access_token"],
            "phone": body["legal_representative"]["phone"]}


async def last_code(api: Api, phone: str) -> str:
    r = await api.get("/api/v1/sandbox/sms", params={"phone": phone})
    assert r.status == 200 and r.json["items"], r
    match = re.search(r"验证码(\d{6})", r.json["items"][0]["text"])
    assert match, r.json["items"][0]
    return match.group(1)


async def send_code(api: Api, who: dict[str, Any]) -> Reply:
    return await api.post("/api/v1/certificate/activation-codes", token=who["token"])


async def activate_request(api: Api, who: dict[str, Any], code: str, *, password: str = PASSWORD,
                           confirm: str | None = None,
                           accepted: list[dict[str, str]] | None = None) -> Reply:
    USED_PASSWORDS.add(password)
    return await api.post("/api/v1/certificate", token=who["token"], json={
        "sms_code": code, "password": password,
        "password_confirm": password if confirm is None else confirm,
        "accepted_agreements": await agreements(api) if accepted is None else accepted})


async def activate(api: Api, who: dict[str, Any], password: str = PASSWORD) -> dict[str, Any]:
    sent = await send_code(api, who)
    assert sent.status == 202, sent
    r = await activate_request(api, who, await last_code(api, who["phone"]), password=password)
    assert r.status == 201, r
    return dict(r.json)


async def sign(api: Api, platform: Platform, who: dict[str, Any], password: str) -> Reply:
    USED_PASSWORDS.add(password)
    return await api.post(platform.internal_url("certs") + f"/internal/principals/{who['id']}/signatures",
                          headers=internal(), json={"digest_b64": base64.b64encode(DIGEST).decode(),
                                                    "certificate_password": password})


async def nothing_issued(api: Api, platform: Platform, who: dict[str, Any]) -> None:
    r = await api.get("/api/v1/certificate", token=who["token"])
    assert is_problem(r, 404, "certificate_not_activated"), r
    conn = await certs_db(platform)
    try:
        assert await conn.fetchval("SELECT count(*) FROM certificates WHERE owner_id = $1",
                                   uuid.UUID(who["id"])) == 0
        assert await conn.fetchval("SELECT count(*) FROM events WHERE data->>'owner_id' = $1",
                                   who["id"]) == 0
    finally:
        await conn.close()


async def certs_db(platform: Platform) -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}certs")


class Clock:
    """The certs sandbox clock (PUT /internal/sandbox/clock), always put back. Each certs
    process keeps its own: every replica is moved."""

    def __init__(self, api: Api, platform: Platform) -> None:
        self.api = api
        self.urls = [u + "/internal/sandbox/clock" for u in platform.internal_urls("certs")]

    async def move(self, seconds: float) -> None:
        for url in self.urls:
            r = await self.api.put(url, headers=internal(), json={"offset_seconds": seconds})
            assert r.status == 200, r


@pytest.fixture()
async def clock(api: Api, platform: Platform) -> AsyncIterator[Clock]:
    c = Clock(api, platform)
    try:
        yield c
    finally:
        await c.move(0)


def verifies(pem: str, signature_b64: str) -> bool:
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(base64.b64decode(signature_b64), DIGEST, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except Exception:  # noqa: BLE001
        return False
    return True


def attrs(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


# activation --------------------------------------------------------------------------


async def test_person_activates_and_the_certificate_chains_to_the_root(
        api: Api, platform: Platform) -> None:
    who = await person(api)
    sent = await send_code(api, who)
    assert sent.status == 202, sent
    assert sent.json["phone_masked"] == "*" * 7 + who["phone"][-4:]
    view_reply = await activate_request(api, who, await last_code(api, who["phone"]))
    assert view_reply.status == 201, view_reply
    view = view_reply.json
    assert view["status"] == "active" and view["algorithm"] == "ecdsa-p256-sha256"
    assert who["id_number"] not in view["subject"] and who["id_number"][-4:] in view["subject"]

    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert attrs(cert, NameOID.COMMON_NAME) == [who["name"]]
    assert attrs(cert, NameOID.SERIAL_NUMBER) == [who["id_number"]]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not (ku.value.key_cert_sign or ku.value.crl_sign or ku.value.key_encipherment)
    assert format(cert.serial_number, "X") == view["serial_number"]
    assert view["fingerprint_sha256"] == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()

    root = await api.get("/api/v1/ca/root.pem")
    issuing = await api.get("/api/v1/ca/issuing.pem")
    assert root.status == 200 and issuing.status == 200
    root_cert = x509.load_pem_x509_certificate(root.body)
    ee = ExtensionPolicy.permit_all().require_present(x509.KeyUsage, Criticality.CRITICAL, None)
    verifier = (PolicyBuilder().store(Store([root_cert]))
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
                .build_client_verifier())
    chain = verifier.verify(cert, [x509.load_pem_x509_certificate(issuing.body)]).chain
    assert len(chain) == 3 and chain[-1] == root_cert

    shown = await api.get("/api/v1/certificate", token=who["token"])
    assert shown.status == 200 and shown.json["serial_number"] == view["serial_number"]
    signed = await sign(api, platform, who, PASSWORD)
    assert signed.status == 200 and verifies(view["pem"], signed.json["signature_b64"]), signed
    status = await api.get(platform.internal_url("certs") + f"/internal/principals/{who['id']}/certificate",
                           headers=internal())
    assert status.json["status"] == "active" and status.json["serial_number"] == view["serial_number"]
    again = await send_code(api, who)
    assert is_problem(again, 409, "certificate_already_active"), again


async def test_enterprise_account_certificate_names_the_enterprise(api: Api) -> None:
    who = await enterprise(api)
    view = await activate(api, who)
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert attrs(cert, NameOID.ORGANIZATION_NAME) == [who["name"]]
    assert attrs(cert, NameOID.ORGANIZATION_IDENTIFIER) == [who["uscc"]]


async def test_agent_certificate_names_the_enterprise_and_dies_with_the_agent(
        api: Api, platform: Platform) -> None:
    ent = await enterprise(api)
    added = await ids.add_agent(api, ent["token"])
    session = await ids.login(api, "agent", added["phone"], added["password"],
                              enterprise_uscc=ent["uscc"])
    who = {"id": added["agent_id"], "token": session["access_token"], "phone": added["phone"]}
    view = await activate(api, who)
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert attrs(cert, NameOID.COMMON_NAME) == [added["name"]]
    assert attrs(cert, NameOID.SERIAL_NUMBER) == [added["id_number"]]
    assert attrs(cert, NameOID.ORGANIZATION_IDENTIFIER) == [ent["uscc"]]
    assert attrs(cert, NameOID.ORGANIZATION_NAME) == [ent["name"]]

    removed = await api.delete(f"/api/v1/agents/{added['agent_id']}", token=ent["token"])
    assert removed.status == 204, removed
    serial = int(view["serial_number"], 16)
    deadline = asyncio.get_running_loop().time() + 15
    while True:  # AgentRemoved travels over the bus
        crl = x509.load_der_x509_crl((await api.get("/api/v1/ca/crl")).body)
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        if entry is not None:
            break
        assert asyncio.get_running_loop().time() < deadline, "agent certificate not revoked"
        await asyncio.sleep(0.2)
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.affiliation_changed
    refused = await sign(api, platform, who, PASSWORD)
    assert is_problem(refused, 404, "certificate_not_activated"), refused


async def test_expired_code(api: Api, platform: Platform, clock: Clock) -> None:
    who = await person(api)
    assert (await send_code(api, who)).status == 202
    code = await last_code(api, who["phone"])
    await clock.move(5 * 60 + 1)
    r = await activate_request(api, who, code)
    assert is_problem(r, 410, "code_expired"), r
    await nothing_issued(api, platform, who)


async def test_wrong_code(api: Api, platform: Platform) -> None:
    who = await person(api)
    assert (await send_code(api, who)).status == 202
    code = await last_code(api, who["phone"])
    r = await activate_request(api, who, f"{(int(code) + 1) % 1_000_000:06d}")
    assert is_problem(r, 422, "code_invalid"), r
    assert r.json["attempts_left"] == 4 and r.json["errors"][0]["field"] == "sms_code"
    await nothing_issued(api, platform, who)


async def test_resend_too_soon(api: Api, platform: Platform, clock: Clock) -> None:
    who = await person(api)
    assert (await send_code(api, who)).status == 202
    r = await send_code(api, who)
    assert is_problem(r, 429, "resend_too_soon"), r
    assert 0 < int(r.headers["Retry-After"]) <= 60
    await nothing_issued(api, platform, who)
    await clock.move(61)
    assert (await send_code(api, who)).status == 202


async def test_missing_agreement(api: Api, platform: Platform) -> None:
    who = await person(api)
    assert (await send_code(api, who)).status == 202
    code = await last_code(api, who["phone"])
    current = await agreements(api)
    r = await activate_request(api, who, code, accepted=current[1:])
    assert is_problem(r, 422, "agreements_not_accepted"), r
    assert r.json["missing"] == current[:1]
    await nothing_issued(api, platform, who)


async def test_mismatched_passwords(api: Api, platform: Platform) -> None:
    who = await person(api)
    assert (await send_code(api, who)).status == 202
    code = await last_code(api, who["phone"])
    r = await activate_request(api, who, code, confirm=PASSWORD + "!")
    assert is_problem(r, 422, "password_mismatch"), r
    assert r.json["errors"][0]["field"] == "password_confirm"
    await nothing_issued(api, platform, who)


# password ------------------------------------------------------------------------------


async def test_change_password_old_fails_new_signs(api: Api, platform: Platform) -> None:
    who = await person(api)
    view = await activate(api, who)
    new = "Fresh#2026pw"
    USED_PASSWORDS.add(new)
    r = await api.put("/api/v1/certificate/password", token=who["token"], json={
        "old_password": PASSWORD, "new_password": new, "new_password_confirm": new})
    assert r.status == 204, r
    old = await sign(api, platform, who, PASSWORD)
    assert is_problem(old, 403, "wrong_certificate_password"), old
    fresh = await sign(api, platform, who, new)
    assert fresh.status == 200 and verifies(view["pem"], fresh.json["signature_b64"]), fresh


async def test_five_wrong_passwords_lock_then_the_lock_lifts(
        api: Api, platform: Platform, clock: Clock) -> None:
    who = await person(api)
    await activate(api, who)
    for left in (4, 3, 2, 1):
        r = await sign(api, platform, who, "Guess#0000")
        assert is_problem(r, 403, "wrong_certificate_password") and r.json["attempts_left"] == left, r
    r = await sign(api, platform, who, "Guess#0000")
    assert is_problem(r, 423, "certificate_locked"), r
    until = datetime.fromisoformat(r.json["locked_until"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)
    assert is_problem(await sign(api, platform, who, PASSWORD), 423, "certificate_locked")
    await clock.move(15 * 60 + 1)
    assert (await sign(api, platform, who, PASSWORD)).status == 200


# seals, CRL, TSA ---------------------------------------------------------------------------


async def test_revoked_seal_certificate_is_in_the_crl(api: Api, platform: Platform) -> None:
    base = platform.internal_url("certs")
    seal_id = str(uuid.uuid4())
    name = ids.enterprise_name()
    issued = await api.post(base + "/internal/seal-certificates", headers=internal(), json={
        "seal_id": seal_id, "enterprise_id": str(uuid.uuid4()), "enterprise_name": name,
        "enterprise_uscc": ids.uscc(), "seal_name": name + "公章", "seal_type": "official",
        "seal_type_label": "公章"})
    assert issued.status == 201, issued
    digest = {"digest_b64": base64.b64encode(DIGEST).decode()}
    signed = await api.post(base + f"/internal/seal-certificates/{seal_id}/signatures",
                            headers=internal(), json=digest)
    assert signed.status == 200 and verifies(issued.json["certificate_pem"], signed.json["signature_b64"])
    revoked = await api.post(base + f"/internal/seal-certificates/{seal_id}/revocation",
                             headers=internal(), json={"reason": "seal_revoked"})
    assert revoked.status == 200, revoked
    refused = await api.post(base + f"/internal/seal-certificates/{seal_id}/signatures",
                             headers=internal(), json=digest)
    assert is_problem(refused, 409, "certificate_revoked"), refused
    crl_reply = await api.get("/api/v1/ca/crl")
    assert crl_reply.status == 200
    assert crl_reply.headers["Content-Type"].startswith("application/pkix-crl")
    crl = x509.load_der_x509_crl(crl_reply.body)
    assert crl.get_revoked_certificate_by_serial_number(int(issued.json["serial_number"], 16))
    issuing = x509.load_pem_x509_certificate((await api.get("/api/v1/ca/issuing.pem")).body)
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]


async def test_timestamp_token_verifies_for_the_stamped_data(api: Api, platform: Platform) -> None:
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from certs.adapters.crypto.tsa import TimeStampResponse
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    data = b"bytes that were stamped"
    query = tsp.TimeStampReq({
        "version": "v1", "nonce": 42, "cert_req": True,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()}}).dump()
    r = await api.post(platform.internal_url("certs") + "/internal/tsa", data=query,
                       headers={**internal(), "Content-Type": "application/timestamp-query"})
    assert r.status == 200 and r.headers["Content-Type"] == "application/timestamp-reply", r
    reply = TimeStampResponse.load(r.body)
    assert reply["status"]["status"].native == "granted"
    root = x509.load_pem_x509_certificate((await api.get("/api/v1/ca/root.pem")).body)
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))],
                                allow_fetching=False, revocation_mode="soft-fail")

    def expected(algorithm: str) -> bytes:
        return hashlib.new(algorithm, data).digest()

    def other(algorithm: str) -> bytes:
        return hashlib.new(algorithm, b"other bytes").digest()

    signed_data = reply["time_stamp_token"]["content"]
    status = TimestampSignatureStatus(**await validate_tst_signed_data(signed_data, context, expected))
    assert status.valid and status.intact and status.trusted
    mismatch = TimestampSignatureStatus(**await validate_tst_signed_data(signed_data, context, other))
    assert not mismatch.intact


# secrets ---------------------------------------------------------------------------------


async def _dump(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        parts = []
        for table in [r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]:
            parts.extend(r["t"] for r in await conn.fetch(f'SELECT t::text AS t FROM "{table}" AS t'))
        return "\n".join(parts)
    finally:
        await conn.close()


def _forms(secret: bytes) -> list[str]:
    return [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(),
            base64.urlsafe_b64encode(secret).decode().rstrip("="), str(int.from_bytes(secret, "big"))]


async def test_no_password_or_private_key_in_any_database_or_log(api: Api, platform: Platform) -> None:
    """Runs last in this module: every password used above, and every private key certs
    holds (opened here with the development master key and the known passwords), must be
    absent from every table of every service and from every log line of the platform."""
    from certs.adapters.crypto.keywrap import (
        MasterKey,
        WrappedKey,
        WrongPassword,
        make_aad,
        unwrap_with_master,
        unwrap_with_password,
    )
    from certs.adapters.crypto.signing import load_private_key_der
    from cryptography.exceptions import UnsupportedAlgorithm

    from shared.gm.sm2 import Sm2PrivateKey

    assert len(USED_PASSWORDS) >= 3
    master = MasterKey.for_development()
    ders: list[bytes] = []
    conn = await certs_db(platform)
    try:
        for row in await conn.fetch("SELECT role, wrapped_key FROM authorities"):
            der = unwrap_with_master(master, bytes(row["wrapped_key"]), make_aad("ca-key", row["role"]))
            ders.append(der)
        for row in await conn.fetch("SELECT role, wrapped_key FROM sm2_authorities"):
            ders.append(unwrap_with_master(master, bytes(row["wrapped_key"]),
                                           make_aad("sm2-ca-key", row["role"])))
        for row in await conn.fetch("SELECT owner, protection, wrapped FROM private_keys"):
            if row["protection"] == "master":
                ders.append(unwrap_with_master(master, bytes(row["wrapped"]),
                                                  make_aad("seal-key", row["owner"])))
                continue
            wrapped = WrappedKey.from_bytes(bytes(row["wrapped"]))
            for candidate in USED_PASSWORDS:
                try:
                    ders.append(unwrap_with_password(master, candidate, wrapped,
                                                        make_aad("user-key", row["owner"])))
                    break
                except WrongPassword:
                    continue
        user_keys = await conn.fetchval("SELECT count(*) FROM private_keys WHERE protection = 'password'")
    finally:
        await conn.close()
    def scalar(der: bytes) -> bytes:
        try:
            return load_private_key_der(der).private_numbers().private_value.to_bytes(32, "big")
        except UnsupportedAlgorithm:  # an SM2 key (cryptography has no SM2 curve)
            return Sm2PrivateKey.from_pkcs8_der(der).secret

    keys = [scalar(der) for der in ders]
    # The CA's three keys, the SM2 hierarchy's three and this module's user keys (with their
    # SM2 twins) were opened; other tests sharing the platform (browser journeys) use
    # passwords unknown here, so their keys stay closed.
    assert user_keys >= 3 and len(keys) >= 3 + 3 + 3

    server = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        names = [r["datname"] for r in await server.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", platform.config.db_prefix + "%")]
    finally:
        await server.close()
    assert platform.config.db_prefix + "certs" in names
    haystacks = {name: await _dump(f"postgresql://postgres@127.0.0.1:5432/{name}") for name in names}
    haystacks["logs"] = platform.logs()
    assert "certificate_activated" in haystacks["logs"]  # the logs are really there
    for where, text in haystacks.items():
        for secret in USED_PASSWORDS:
            assert secret not in text, (where, "a certificate password")
        assert "PRIVATE KEY" not in text, where
        assert PKCS8_P256_PREFIX not in text.lower(), where
        for key in keys:
            for form in _forms(key):
                assert form not in text, (where, "a private key")
