"""Activation through the gateway: SMS code, password, agreements; each refusal is a clear
4xx that issues nothing (no certificate row, no event, the code still usable where it
should be)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from tests.support import gm_independent as independent
from tests.support.harnesses.certs import ALL_AGREEMENTS, PASSWORD, CertsHarness, User


async def _nothing_issued(certs: CertsHarness, user: User) -> None:
    rows = await certs.sql("SELECT 1 FROM certificates WHERE owner_id = $1", user.id)
    assert rows == []
    events = await certs.sql("SELECT 1 FROM events WHERE data->>'owner_id' = $1", str(user.id))
    assert events == []
    r = await certs.request("GET", "/api/v1/certificate", token=user.token)
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r


def _verify_chain(cert: x509.Certificate, root_pem: bytes, issuing_pem: bytes) -> list[x509.Certificate]:
    root = x509.load_pem_x509_certificate(root_pem)
    issuing = x509.load_pem_x509_certificate(issuing_pem)
    ee = ExtensionPolicy.permit_all().require_present(x509.KeyUsage, Criticality.CRITICAL, None)
    verifier = (PolicyBuilder().store(Store([root]))
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
                .build_client_verifier())
    return list(verifier.verify(cert, [issuing]).chain)


async def test_agreements_are_listed_with_versions_in_chinese(certs: CertsHarness) -> None:
    r = await certs.request("GET", "/api/v1/agreements")
    assert r.status == 200, r
    titles = {a["title"] for a in r.json["items"]}
    assert {"数字证书服务协议", "电子印章使用协议", "隐私政策"} <= titles
    for item in r.json["items"]:
        assert set(item) >= {"code", "version", "title", "text"} and item["text"]


async def test_whole_activation_flow_issues_a_certificate_chaining_to_the_root(
        certs: CertsHarness) -> None:
    user = certs.person()
    sent = await certs.send_code(user)
    assert sent.status == 202, sent
    assert sent.json["phone_masked"].endswith(user.record.phone[-4:])
    assert user.record.phone not in sent.body.decode()
    sms = await certs.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
    assert sms.status == 200 and len(sms.json["items"]) == 1
    assert set(sms.json["items"][0]) == {"phone", "text", "sent_at"}
    assert "验证码" in sms.json["items"][0]["text"]

    r = await certs.activate_request(user, await certs.last_code(user))
    assert r.status == 201, r
    view = r.json
    assert set(view) >= {"serial_number", "subject", "issuer", "not_before", "not_after",
                         "algorithm", "fingerprint_sha256", "status", "pem"}
    assert view["status"] == "active" and view["algorithm"] == "ecdsa-p256-sha256"
    # the ID number is masked in what is shown, real in the certificate itself
    id_number = user.record.id_number
    assert id_number is not None
    assert id_number not in view["subject"] and id_number[-4:] in view["subject"]
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)] == [id_number]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user.record.name]
    assert format(cert.serial_number, "X") == view["serial_number"]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign

    root = await certs.request("GET", "/api/v1/ca/root.pem")
    issuing = await certs.request("GET", "/api/v1/ca/issuing.pem")
    assert root.status == issuing.status == 200
    chain = _verify_chain(cert, root.body, issuing.body)
    assert chain[-1].subject == x509.load_pem_x509_certificate(root.body).subject

    again = await certs.request("GET", "/api/v1/certificate", token=user.token)
    assert again.status == 200 and again.json["serial_number"] == view["serial_number"]

    accepted = await certs.sql(
        "SELECT code, version FROM agreement_acceptances WHERE principal_id = $1 ORDER BY code",
        user.id)
    assert sorted((a["code"], a["version"]) for a in ALL_AGREEMENTS) == \
        [(r["code"], r["version"]) for r in accepted]
    types = [r["type"] for r in await certs.sql(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", view["certificate_id"])]
    assert types == ["UserCertificateActivated", "CertificateIssued", "Sm2CertificateAdded",
                     "Sm2CertificateIssued"]

    status = await certs.request("GET", f"/internal/principals/{user.id}/certificate", internal=True)
    sm2_pem = status.json.pop("sm2_certificate_pem")
    sm2_serial = status.json.pop("sm2_serial_number")
    assert status.json == {"status": "active", "serial_number": view["serial_number"],
                           "certificate_pem": view["pem"]}
    # the SM2 twin: SM2-with-SM3, issued by the SM2 issuing CA (checked without shared.gm)
    ca = (await certs.request("GET", "/internal/ca", internal=True)).json
    twin = independent.load_cert(sm2_pem.encode())
    assert format(twin.serial_number, "X") == sm2_serial
    assert independent.chains(twin, independent.load_cert(ca["sm2_issuing_pem"].encode()),
                              independent.load_cert(ca["sm2_root_pem"].encode()))


async def test_an_active_certificate_cannot_be_activated_again(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    r = await certs.send_code(user)
    assert r.status == 409 and r.json["code"] == "certificate_already_active", r
    r = await certs.activate_request(user, "123456")
    assert r.status == 409 and r.json["code"] == "certificate_already_active", r


async def test_enterprise_and_agent_subjects(certs: CertsHarness) -> None:
    enterprise = certs.enterprise()
    view = await certs.activate(enterprise)
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == \
        [enterprise.record.enterprise_name]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)] \
        == [enterprise.record.enterprise_uscc]

    agent = certs.agent(enterprise)
    view = await certs.activate(agent)
    cert = x509.load_pem_x509_certificate(view["pem"].encode())
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == \
        [agent.record.name]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)] == \
        [agent.record.id_number]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)] \
        == [enterprise.record.enterprise_uscc]


@pytest.mark.parametrize("verification", ["pending_verification", None])
async def test_an_enterprise_identity_has_not_verified_gets_no_certificate(
        certs: CertsHarness, verification: str | None) -> None:
    enterprise = certs.enterprise(verification=verification)
    sent = await certs.send_code(enterprise)
    assert sent.status == 403 and sent.json["code"] == "enterprise_not_verified", sent
    r = await certs.activate_request(enterprise, "123456")
    assert r.status == 403 and r.json["code"] == "enterprise_not_verified", r
    await _nothing_issued(certs, enterprise)


async def test_expired_code_is_refused_and_nothing_issued(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    code = await certs.last_code(user)
    certs.clock.offset += timedelta(minutes=5, seconds=1)
    try:
        r = await certs.activate_request(user, code)
    finally:
        certs.clock.offset -= timedelta(minutes=5, seconds=1)
    assert r.status == 410 and r.json["code"] == "code_expired", r
    assert r.json["errors"][0]["field"] == "sms_code"
    await _nothing_issued(certs, user)


async def test_wrong_codes_are_counted_and_burn_the_code(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    code = await certs.last_code(user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        r = await certs.activate_request(user, wrong)
        assert r.status == 422 and r.json["code"] == "code_invalid", r
        assert r.json["attempts_left"] == left
    r = await certs.activate_request(user, wrong)
    assert r.status == 429 and r.json["code"] == "code_attempts_exceeded", r
    r = await certs.activate_request(user, code)  # even the right one: request a new code
    assert r.status == 429 and r.json["code"] == "code_attempts_exceeded", r
    await _nothing_issued(certs, user)


async def test_no_code_requested_is_a_wrong_code(certs: CertsHarness) -> None:
    user = certs.person()
    r = await certs.activate_request(user, "123456")
    assert r.status == 422 and r.json["code"] == "code_invalid", r
    await _nothing_issued(certs, user)


async def test_resend_within_a_minute_is_refused_with_retry_after(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    first = await certs.last_code(user)
    r = await certs.send_code(user)
    assert r.status == 429 and r.json["code"] == "resend_too_soon", r
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and r.json["retry_after"] >= 1
    sms = await certs.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
    assert len(sms.json["items"]) == 1
    certs.clock.offset += timedelta(seconds=61)
    try:
        assert (await certs.send_code(user)).status == 202
        second = await certs.last_code(user)
        if second != first:  # the new code replaces the old one
            r = await certs.activate_request(user, first)
            assert r.status == 422 and r.json["code"] == "code_invalid", r
        r = await certs.activate_request(user, second)
        assert r.status == 201, r
    finally:
        certs.clock.offset -= timedelta(seconds=61)


async def test_missing_agreement_is_refused_without_using_the_code(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    code = await certs.last_code(user)
    r = await certs.activate_request(user, code, agreements=ALL_AGREEMENTS[:-1])
    assert r.status == 422 and r.json["code"] == "agreements_not_accepted", r
    assert r.json["missing"] == [ALL_AGREEMENTS[-1]]
    old = [{**a, "version": "2000-01"} if i == 0 else a for i, a in enumerate(ALL_AGREEMENTS)]
    r = await certs.activate_request(user, code, agreements=old)
    assert r.status == 422 and r.json["code"] == "agreements_not_accepted", r
    r = await certs.activate_request(user, code, agreements=[*ALL_AGREEMENTS,
                                                             {"code": "nope", "version": "1"}])
    assert r.status == 422 and r.json["code"] == "unknown_agreement", r
    await _nothing_issued(certs, user)
    assert (await certs.activate_request(user, code)).status == 201  # the code still works


@pytest.mark.parametrize(("password", "confirm", "code"), [
    (PASSWORD, PASSWORD + "x", "password_mismatch"),
    ("short1", "short1", "weak_password"),
    ("onlyletters", "onlyletters", "weak_password"),
    ("has space 12", "has space 12", "weak_password"),
])
async def test_bad_passwords_are_refused_without_using_the_code(
        certs: CertsHarness, password: str, confirm: str, code: str) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    sms_code = await certs.last_code(user)
    r = await certs.activate_request(user, sms_code, password=password, confirm=confirm)
    assert r.status == 422 and r.json["code"] == code, r
    assert r.json["errors"][0]["field"] in ("password", "password_confirm")
    await _nothing_issued(certs, user)
    assert (await certs.activate_request(user, sms_code)).status == 201


async def test_bad_bodies_and_missing_tokens(certs: CertsHarness) -> None:
    user = certs.person()
    r = await certs.request("POST", "/api/v1/certificate", json={"sms_code": "1"})
    assert r.status == 401, r
    r = await certs.request("POST", "/api/v1/certificate", token=user.token,
                            json={"sms_code": "123456", "password": PASSWORD})
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    fields = {e["field"] for e in r.json["errors"]}
    assert {"password_confirm", "accepted_agreements"} <= fields
    r = await certs.request("POST", "/api/v1/certificate", token=user.token, json={
        "sms_code": "123456", "password": PASSWORD, "password_confirm": PASSWORD,
        "accepted_agreements": ALL_AGREEMENTS, "extra": 1})
    assert r.status == 422, r
    r = await certs.request("GET", "/api/v1/sandbox/sms")
    assert r.status == 422, r


async def test_parallel_activations_issue_one_certificate(certs: CertsHarness) -> None:
    user = certs.person()
    assert (await certs.send_code(user)).status == 202
    code = await certs.last_code(user)
    replies = await asyncio.gather(*(certs.activate_request(user, code) for _ in range(4)))
    assert sorted(r.status for r in replies) == [201, 409, 409, 409], replies
    assert {r.json["code"] for r in replies if r.status == 409} == {"certificate_already_active"}
    rows = await certs.sql("SELECT 1 FROM certificates WHERE owner_id = $1", user.id)
    assert len(rows) == 1
    parallel_sends = await asyncio.gather(*(certs.send_code(certs.person()) for _ in range(3)))
    assert {r.status for r in parallel_sends} == {202}


async def test_parallel_code_requests_send_one_sms(certs: CertsHarness) -> None:
    user = certs.person()
    replies = await asyncio.gather(*(certs.send_code(user) for _ in range(4)))
    assert sorted(r.status for r in replies) == [202, 429, 429, 429], replies
    sms = await certs.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
    assert len(sms.json["items"]) == 1


async def test_more_concurrent_code_sends_than_pool_connections_do_not_deadlock(
        certs: CertsHarness) -> None:
    """A send holds a connection (the code's transaction) while the sandbox records the SMS:
    through the same pool, sends enough to take every connection waited for ever (a certs
    replica left alone with everyone's activations did)."""
    users = [certs.person() for _ in range(certs.settings.db_pool_max + 4)]
    replies = await asyncio.wait_for(asyncio.gather(*(certs.send_code(u) for u in users)), 30)
    assert [r.status for r in replies] == [202] * len(users)
