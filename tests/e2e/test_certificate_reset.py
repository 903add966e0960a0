"""忘记证书密码 and certificate renewal on the whole platform, through the gateway.

A person stamps, forgets the certificate password, resets it (SMS code to the bound phone +
a real sandbox face check of identity, purpose ``reset_certificate``) and stamps again with
the new password; the stamp made before the reset still verifies (its LTV data is embedded,
the old certificate was revoked after it, as ``superseded``). Each refusal is a clear 4xx
that replaces nothing: a wrong SMS code, a failed or absent face check, another person's
face check. Renewal: SMS code + the current password; a revoked certificate answers 409, a
wrong password 403 with the tries left.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509

from tests.conftest import Platform
from tests.e2e.test_certs import Clock, clock
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    Account,
    Hooks,
    World,
    client_token,
    create_client,
    grant,
    last_code,
    new_enterprise,
    new_person,
    new_seal,
    pending,
    pyhanko_validation,
    result,
    scan,
    stamp,
    verify,
)
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Reset#2026pw"
__all__ = ["clock"]  # the certs sandbox clock fixture, put back after each test


@dataclass
class Codes:
    """SMS codes for a reset or a renewal, each past the 60 s between sends (the
    activation's code counts): the certs sandbox clock moves 61 s more on for each send, and
    back right after, so what follows (certificates, CRLs, timestamps) is on real time (a
    CRL from the future is "too recent" for the stamping service)."""

    api: Api
    clock: Clock
    offset: int = 0

    async def send(self, who: Account, purpose: str) -> str:
        self.offset += 61
        await self.clock.move(self.offset)
        try:
            sent = await self.api.post(f"/api/v1/certificate/{purpose}-codes", token=who.token)
        finally:
            await self.clock.move(0)
        assert sent.status == 202, sent
        return await last_code(self.api, who.body["phone"])


@pytest.fixture()
def codes(api: Api, clock: Clock) -> Codes:
    return Codes(api, clock)


async def reset(api: Api, who: Account, code: str, face_token: str | None,
                password: str = NEW_PASSWORD) -> Reply:
    body: dict[str, Any] = {"sms_code": code, "new_password": password,
                            "new_password_confirm": password}
    if face_token is not None:
        body["face_token"] = face_token
    return await api.post("/api/v1/certificate/reset", token=who.token, json=body)


async def serial(api: Api, who: Account) -> str:
    r = await api.get("/api/v1/certificate", token=who.token)
    assert r.status == 200, r
    return str(r.json["serial_number"])


async def settled_active(api: Api, who: Account) -> None:
    """identity's ``certificate_status`` ends ``active`` (the old certificate's revocation
    and the new one's issue are two streams: handled in either order, still active)."""
    async def active() -> bool | None:
        me = await api.get("/api/v1/me", token=who.token)
        return True if me.json.get("certificate_status") == "active" else None

    for _ in range(20):  # and stays so once both events were handled
        await eventually(active, 10, what="certificate_status active")
        await asyncio.sleep(0.1)


async def crl_reason(api: Api, serial_number: str) -> x509.ReasonFlags:
    r = await api.get("/api/v1/ca/crl")
    assert r.status == 200, r
    entry = x509.load_der_x509_crl(r.body).get_revoked_certificate_by_serial_number(
        int(serial_number, 16))
    assert entry is not None, f"{serial_number} is not on the CRL"
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


async def test_reset_then_stamp_with_the_new_password_and_earlier_stamps_verify(
        api: Api, platform: Platform, codes: Codes) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "证书重置测试系统")
    client.token = await client_token(api, client)
    w = World(enterprise, seal, person, client, Hooks(""), (await api.get("/api/v1/ca/root.pem")).body)

    before = await pending(api, w)
    assert (await scan(api, person, before["qr_payload"])).status == 200
    assert (await stamp(api, person, before["request_id"], seal)).status == 201
    earlier = (await result(api, w, before["request_id"])).body
    old_serial = await serial(api, person)

    face = await ids.face_token(api, person.token, "reset_certificate")
    r = await reset(api, person, await codes.send(person, "reset"), face)
    assert r.status == 201, r
    assert r.json["serial_number"] != old_serial and r.json["status"] == "active"
    assert await crl_reason(api, old_serial) == x509.ReasonFlags.superseded
    await settled_active(api, person)

    after = await pending(api, w)
    assert (await scan(api, person, after["qr_payload"])).status == 200
    r = await stamp(api, person, after["request_id"], seal, password=CERT_PASSWORD)
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    r = await stamp(api, person, after["request_id"], seal, password=NEW_PASSWORD)
    assert r.status == 201, r
    later = (await result(api, w, after["request_id"])).body
    assert (await verify(api, later)).json["result"] == "passed"

    # the stamp made before the reset: still valid (LTV data embedded, revoked after it)
    v = await verify(api, earlier)
    assert v.json["result"] == "passed", v
    status_, _ = await pyhanko_validation(earlier, w.root_pem)
    assert status_.intact and status_.valid


async def test_reset_refusals_replace_nothing(api: Api, codes: Codes) -> None:
    person, other = await new_person(api), await new_person(api)
    old_serial = await serial(api, person)

    code = await codes.send(person, "reset")
    wrong = "000000" if code != "000000" else "111111"
    face = await ids.face_token(api, person.token, "reset_certificate")
    r = await reset(api, person, wrong, face)
    assert r.status == 422 and r.json["code"] == "code_invalid", r

    r = await reset(api, person, code, None)  # no face check
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    # a failed face check gives no token: whatever is sent instead is refused
    started = await api.post("/api/v1/face-checks", json={"purpose": "reset_certificate"},
                             token=person.token)
    assert started.status == 201, started
    failed = await api.post(f"/api/v1/sandbox/face-checks/{started.json['face_check_id']}/fail")
    assert failed.status == 200 and "face_token" not in failed.json, failed
    r = await reset(api, person, code, started.json["face_check_id"])
    assert r.status == 422 and r.json["code"] == "face_token_invalid", r

    # another person's face check does not reset my certificate
    other_face = await ids.face_token(api, other.token, "reset_certificate")
    r = await reset(api, person, code, other_face)
    assert r.status == 403 and r.json["code"] == "face_token_mismatch", r
    # nor does my face check (unused: the wrong code above used none) reset theirs
    other_code = await codes.send(other, "reset")
    r = await reset(api, other, other_code, face)
    assert r.status == 403 and r.json["code"] == "face_token_mismatch", r
    assert await serial(api, person) == old_serial

    # the code survived the refused face checks: with my own face check it resets
    r = await reset(api, person, code, face)
    assert r.status == 201 and r.json["serial_number"] != old_serial, r


async def test_renewal_and_its_refusals(api: Api, codes: Codes) -> None:
    person = await new_person(api)
    old_serial = await serial(api, person)

    code = await codes.send(person, "renewal")
    r = await api.post("/api/v1/certificate/renewal", token=person.token, json={
        "sms_code": code, "password": "Wrong#2026pw"})
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert r.json["attempts_left"] == 4
    assert await serial(api, person) == old_serial

    r = await api.post("/api/v1/certificate/renewal", token=person.token, json={
        "sms_code": code, "password": CERT_PASSWORD, "serial_number": old_serial})
    assert r.status == 201, r
    assert r.json["serial_number"] != old_serial
    assert await crl_reason(api, old_serial) == x509.ReasonFlags.superseded
    await settled_active(api, person)

    code = await codes.send(person, "renewal")
    r = await api.post("/api/v1/certificate/renewal", token=person.token, json={
        "sms_code": code, "password": CERT_PASSWORD, "serial_number": old_serial})
    assert r.status == 409 and r.json["code"] == "certificate_revoked", r
