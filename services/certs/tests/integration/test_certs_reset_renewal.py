"""忘记证书密码 and renewal, through the gateway: a new key pair and certificate, the old one
on the CRL (superseded, or keyCompromise when said), the new password signing; and each
refusal a clear 4xx that replaces nothing. The renewal reminders (30 and 7 days before
expiry) on the moved clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certs.entrypoints.appkeys import CERTS
from certs.service_layer.expiry import remind_expiring
from cryptography import x509

from tests.support.harnesses.certs import PASSWORD, CertsHarness, User

NEW_PASSWORD = "Reset#2026pw"
DIGEST = hashlib.sha256(b"a document").digest()


@pytest.fixture(autouse=True)
def _restore_clock(certs: CertsHarness) -> Iterator[None]:
    before = certs.clock.offset
    yield
    certs.clock.offset = before


async def _send(certs: CertsHarness, user: User, purpose: str) -> str:
    """A code for ``purpose``, past the 60 s between sends (the activation's code counts)."""
    certs.clock.offset += timedelta(seconds=61)
    r = await certs.request("POST", f"/api/v1/certificate/{purpose}-codes", token=user.token)
    assert r.status == 202, r
    return await certs.last_code(user)


async def _reset(certs: CertsHarness, user: User, code: str, face_token: str | None, *,
                 password: str = NEW_PASSWORD, **extra: Any) -> Any:
    body: dict[str, Any] = {"sms_code": code, "new_password": password,
                            "new_password_confirm": password, **extra}
    if face_token is not None:
        body["face_token"] = face_token
    return await certs.request("POST", "/api/v1/certificate/reset", token=user.token, json=body)


async def _crl_reason(certs: CertsHarness, serial: str) -> x509.ReasonFlags | None:
    r = await certs.request("GET", "/api/v1/ca/crl")
    assert r.status == 200
    entry = x509.load_der_x509_crl(r.body).get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None, f"{serial} is not on the CRL"
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


async def _current_serial(certs: CertsHarness, user: User) -> str:
    r = await certs.request("GET", "/api/v1/certificate", token=user.token)
    assert r.status == 200, r
    return str(r.json["serial_number"])


async def test_reset_of_a_locked_certificate_issues_a_new_key_and_revokes_the_old(
        certs: CertsHarness) -> None:
    user = certs.person()
    old = await certs.activate(user)
    for _ in range(5):  # forgotten: five wrong tries lock it
        await certs.sign(user, DIGEST, password="Wrong#2026pw")
    locked = await certs.request("GET", "/api/v1/certificate", token=user.token)
    assert locked.json["status"] == "locked", locked

    code = await _send(certs, user, "reset")
    sms = await certs.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
    assert "重置数字证书密码" in sms.json["items"][0]["text"]
    r = await _reset(certs, user, code, certs.faces.grant(user.id))
    assert r.status == 201, r
    new = r.json
    assert new["status"] == "active" and new["serial_number"] != old["serial_number"]
    assert new["sm2"] is not None and new["sm2"]["serial_number"] != old["sm2"]["serial_number"]
    old_key = x509.load_pem_x509_certificate(old["pem"].encode()).public_key()
    new_key = x509.load_pem_x509_certificate(new["pem"].encode()).public_key()
    assert old_key != new_key  # a new key pair, not the old one re-certified
    assert await _current_serial(certs, user) == new["serial_number"]
    assert await _crl_reason(certs, old["serial_number"]) == x509.ReasonFlags.superseded

    kinds = [r["type"] for r in await certs.sql(
        "SELECT type FROM events WHERE stream_id IN ($1, $2) ORDER BY position",
        old["certificate_id"], new["certificate_id"])]
    assert kinds[-5:] == ["CertificateRevoked", "UserCertificateReissued", "CertificateIssued",
                          "Sm2CertificateAdded", "Sm2CertificateIssued"], kinds

    signed = await certs.sign(user, DIGEST, password=NEW_PASSWORD)
    assert signed.status == 200 and signed.json["serial_number"] == new["serial_number"], signed
    assert (await certs.sign(user, DIGEST, password=PASSWORD)).status == 403



async def test_reset_saying_the_key_may_be_compromised_revokes_with_key_compromise(
        certs: CertsHarness) -> None:
    user = certs.enterprise()
    old = await certs.activate(user)
    code = await _send(certs, user, "reset")
    r = await _reset(certs, user, code, certs.faces.grant(user.id), key_compromised=True)
    assert r.status == 201, r
    assert await _crl_reason(certs, old["serial_number"]) == x509.ReasonFlags.key_compromise


async def test_reset_refusals_replace_nothing(certs: CertsHarness) -> None:
    user, other = certs.person(), certs.person()
    old = await certs.activate(user)
    await certs.activate(other)

    code = await _send(certs, user, "reset")
    wrong = "000000" if code != "000000" else "111111"
    r = await _reset(certs, user, wrong, certs.faces.grant(user.id))
    assert r.status == 422 and r.json["code"] == "code_invalid", r

    r = await _reset(certs, user, code, None)  # no face check at all
    assert r.status == 422 and r.json["code"] == "validation_failed", r
    r = await _reset(certs, user, code, "never-issued")
    assert r.status == 422 and r.json["code"] == "face_token_invalid", r

    # another person's face check cannot reset my certificate; the code stays usable
    r = await _reset(certs, user, code, certs.faces.grant(other.id))
    assert r.status == 403 and r.json["code"] == "face_token_mismatch", r
    # a face check for another purpose is refused the same way
    r = await _reset(certs, user, code, certs.faces.grant(user.id, "add_agent"))
    assert r.status == 403 and r.json["code"] == "face_token_mismatch", r
    # a wrong code uses no face token
    face = certs.faces.grant(user.id)
    r = await _reset(certs, user, wrong, face)
    assert r.status == 422 and r.json["code"] == "code_invalid", r
    assert face not in certs.faces.used
    # a renewal code is no reset code
    code = await _send(certs, user, "renewal")
    r = await _reset(certs, user, code, certs.faces.grant(user.id))
    assert r.status == 422 and r.json["code"] == "code_invalid", r
    assert await _current_serial(certs, user) == old["serial_number"]
    assert (await certs.sign(user, DIGEST)).status == 200  # the old password still works

    stranger = certs.person()  # no certificate: nothing to reset
    r = await certs.request("POST", "/api/v1/certificate/reset-codes", token=stranger.token)
    assert r.status == 404 and r.json["code"] == "certificate_not_activated", r


async def test_renewal_issues_a_new_certificate_under_the_same_password(
        certs: CertsHarness) -> None:
    user = certs.person()
    old = await certs.activate(user)
    code = await _send(certs, user, "renewal")
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": code, "password": PASSWORD,
                                  "serial_number": old["serial_number"]})
    assert r.status == 201, r
    assert r.json["serial_number"] != old["serial_number"]
    assert r.json["not_after"] > old["not_after"] or r.json["not_before"] >= old["not_before"]
    assert await _crl_reason(certs, old["serial_number"]) == x509.ReasonFlags.superseded
    signed = await certs.sign(user, DIGEST, password=PASSWORD)
    assert signed.status == 200 and signed.json["serial_number"] == r.json["serial_number"]

    # renewing the certificate just replaced: revoked
    code = await _send(certs, user, "renewal")
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": code, "password": PASSWORD,
                                  "serial_number": old["serial_number"]})
    assert r.status == 409 and r.json["code"] == "certificate_revoked", r


async def test_renewal_with_a_wrong_password_is_counted_and_replaces_nothing(
        certs: CertsHarness) -> None:
    user = certs.person()
    old = await certs.activate(user)
    code = await _send(certs, user, "renewal")
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": code, "password": "Wrong#2026pw"})
    assert r.status == 403 and r.json["code"] == "wrong_certificate_password", r
    assert r.json["attempts_left"] == 4
    assert await _current_serial(certs, user) == old["serial_number"]
    # the code was not used up by the wrong password: the right one renews with it
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": code, "password": PASSWORD})
    assert r.status == 201, r
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": code, "password": PASSWORD})
    assert r.status == 422 and r.json["code"] == "code_invalid", r  # used once


async def test_renewal_of_an_expired_certificate_is_refused(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    certs.clock.offset += timedelta(days=3 * 365)
    r = await certs.request("POST", "/api/v1/certificate/renewal", token=user.token,
                            json={"sms_code": "123456", "password": PASSWORD})
    assert r.status == 409 and r.json["code"] == "certificate_expired", r


async def _texts(certs: CertsHarness, user: User) -> list[str]:
    r = await certs.request("GET", "/api/v1/sandbox/sms", params={"phone": user.record.phone})
    return [m["text"] for m in r.json["items"]]


async def test_expiry_reminders_30_and_7_days_before_each_once(certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    not_after = datetime.fromisoformat(view["not_after"].replace("Z", "+00:00"))
    ctx = certs.app[CERTS]

    def at(moment: datetime) -> None:
        certs.clock.offset = moment - datetime.now(UTC)

    at(not_after - timedelta(days=31))
    await remind_expiring(ctx)
    assert not any("到期" in t for t in await _texts(certs, user))

    at(not_after - timedelta(days=29))
    await remind_expiring(ctx)
    await remind_expiring(ctx)  # once only
    reminders = [t for t in await _texts(certs, user) if "到期" in t]
    assert len(reminders) == 1 and "30天内" in reminders[0], reminders

    at(not_after - timedelta(days=6))
    await remind_expiring(ctx)
    await remind_expiring(ctx)
    reminders = [t for t in await _texts(certs, user) if "到期" in t]
    assert len(reminders) == 2 and "7天内" in reminders[0], reminders

    kinds = [r["type"] for r in await certs.sql(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY position", view["certificate_id"])]
    assert kinds.count("CertificateExpiryReminded") == 2

    at(not_after + timedelta(days=1))  # expired: nothing more
    await remind_expiring(ctx)
    assert len([t for t in await _texts(certs, user) if "到期" in t]) == 2


async def test_a_certificate_found_a_week_before_expiry_gets_only_the_7_day_reminder(
        certs: CertsHarness) -> None:
    user = certs.person()
    view = await certs.activate(user)
    not_after = datetime.fromisoformat(view["not_after"].replace("Z", "+00:00"))
    certs.clock.offset = not_after - timedelta(days=5) - datetime.now(UTC)
    await remind_expiring(certs.app[CERTS])
    reminders = [t for t in await _texts(certs, user) if "到期" in t]
    assert len(reminders) == 1 and "7天内" in reminders[0], reminders
