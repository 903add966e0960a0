"""The SM2 hierarchy in certs against real PostgreSQL: twins of user and seal certificates,
SM2 signatures (same password, lockout and revocation), the SM2 CRL, GB/T 38540 seals.

Every SM2 structure is checked with ``tests.support.gm_independent`` (bare asn1crypto +
gmalglib), not with the code that built it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from certs.service_layer import activation as activation_module
from certs.service_layer import seals as seals_module
from gmalglib.sm2 import SM2  # type: ignore[import-untyped]
from gmalglib.sm3 import SM3  # type: ignore[import-untyped]
from PIL import Image

from tests.support import gm_independent as gm
from tests.support import identities
from tests.support.harnesses.certs import PASSWORD, CertsHarness, User

OTHER_PASSWORD = "Other#2026pw"


def _seal_body(seal_id: uuid.UUID | None = None) -> dict[str, str]:
    name = identities.enterprise_name()
    return {"seal_id": str(seal_id or uuid.uuid4()), "enterprise_id": str(uuid.uuid4()),
            "enterprise_name": name, "enterprise_uscc": identities.uscc(),
            "seal_name": name + "合同专用章", "seal_type": "contract", "seal_type_label": "合同专用章"}


def _e(certificate_pem: str, message: bytes) -> bytes:
    """e = SM3(Z‖M) for the certificate's key and the default user ID (GB/T 32918)."""
    point = gm.sm2_point(gm.load_cert(certificate_pem.encode()))
    z = bytes(SM2(pk=point, uid=gm.DEFAULT_UID).get_entity_info())
    return bytes(SM3(z + message).digest())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def _ca(certs: CertsHarness) -> dict[str, Any]:
    reply = await certs.request("GET", "/internal/ca", internal=True)
    assert reply.status == 200, reply
    return reply.json  # type: ignore[no-any-return]


async def _sm2_sign(certs: CertsHarness, user: User, digest: bytes,
                    password: str = PASSWORD) -> Any:
    return await certs.request("POST", f"/internal/principals/{user.id}/sm2-signatures",
                               internal=True, json={"digest_b64": _b64(digest),
                                                    "certificate_password": password})


async def test_sm2_root_and_ca_are_published_and_chain(certs: CertsHarness) -> None:
    root_reply = await certs.request("GET", "/api/v1/ca/sm2-root.pem")
    assert root_reply.status == 200
    assert root_reply.headers["Content-Type"].startswith("application/x-pem-file")
    root = gm.load_cert(root_reply.body)
    issuing = gm.load_cert((await certs.request("GET", "/api/v1/ca/sm2-issuing.pem")).body)
    maker = gm.load_cert((await certs.request("GET", "/api/v1/ca/sm2-seal-maker.pem")).body)
    assert gm.chains(maker, issuing, root)
    assert root["tbs_certificate"]["signature"]["algorithm"].dotted == gm.SM2_WITH_SM3
    assert root.ca and issuing.ca and not maker.ca
    # the ECDSA root is another key: SM2 verification of it must fail
    ecdsa_root = (await certs.request("GET", "/api/v1/ca/root.pem")).body
    assert ecdsa_root != root_reply.body
    ca = await _ca(certs)
    assert gm.load_cert(ca["sm2_root_pem"].encode()).dump() == root.dump()
    # keys at rest are wrapped by the master key like the ECDSA CA's
    rows = await certs.sql("SELECT role, wrapped_key FROM sm2_authorities ORDER BY role")
    assert [r["role"] for r in rows] == ["issuing", "root", "seal_maker"]
    assert all(bytes(r["wrapped_key"]).startswith(b"EW1") for r in rows)


async def test_person_sm2_signature_shares_password_and_lockout(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    status = (await certs.request("GET", f"/internal/principals/{user.id}/certificate",
                                  internal=True)).json
    mine = (await certs.request("GET", "/api/v1/certificate", token=user.token)).json
    assert mine["algorithm"] == "ecdsa-p256-sha256" and mine["sm2"]["algorithm"] == "sm2-sm3"
    assert mine["sm2"]["serial_number"] == status["sm2_serial_number"]
    assert mine["sm2"]["pem"] == status["sm2_certificate_pem"]
    assert mine["sm2"]["issuer"].startswith("CN=eseal SM2 Issuing CA 1")
    message = b"TBS_Sign bytes"
    r = await _sm2_sign(certs, user, _e(status["sm2_certificate_pem"], message))
    assert r.status == 200, r
    assert r.json["algorithm"] == "sm2-sm3"
    assert r.json["serial_number"] == status["sm2_serial_number"]
    point = gm.sm2_point(gm.load_cert(r.json["certificate_pem"].encode()))
    assert gm.sm2_verify(point, message, base64.b64decode(r.json["signature_b64"]))
    assert not gm.sm2_verify(point, b"other bytes", base64.b64decode(r.json["signature_b64"]))
    ca = await _ca(certs)
    assert gm.chains(gm.load_cert(r.json["certificate_pem"].encode()),
                     gm.load_cert(ca["sm2_issuing_pem"].encode()),
                     gm.load_cert(ca["sm2_root_pem"].encode()))
    key_row = await certs.sql("SELECT protection, algorithm, wrapped FROM private_keys"
                              " WHERE owner = $1", f"{await _cid(certs, user)}/sm2")
    assert key_row[0]["protection"] == "password" and key_row[0]["algorithm"] == "sm2-sm3"
    assert b'"alg":"argon2id+hkdf-sha256+aes-256-gcm"' in bytes(key_row[0]["wrapped"])

    # one counter for both keys: 4 wrong on ECDSA, the 5th wrong on SM2 locks both
    for _ in range(4):
        wrong = await certs.sign(user, hashlib.sha256(b"x").digest(), password="Wrong#2026pw")
        assert wrong.status == 403, wrong
    locked = await _sm2_sign(certs, user, bytes(32), password="Wrong#2026pw")
    assert locked.status == 423 and locked.json["code"] == "certificate_locked", locked
    assert (await _sm2_sign(certs, user, bytes(32))).status == 423
    assert (await certs.sign(user, bytes(32))).status == 423


async def _cid(certs: CertsHarness, user: User) -> str:
    rows = await certs.sql("SELECT certificate_id FROM certificates WHERE owner_id = $1", user.id)
    return str(rows[0]["certificate_id"])


async def test_password_change_moves_both_keys(certs: CertsHarness) -> None:
    user = certs.person()
    await certs.activate(user)
    changed = await certs.request("PUT", "/api/v1/certificate/password", token=user.token, json={
        "old_password": PASSWORD, "new_password": OTHER_PASSWORD,
        "new_password_confirm": OTHER_PASSWORD})
    assert changed.status == 204, changed
    assert (await _sm2_sign(certs, user, bytes(range(32)), password=PASSWORD)).status == 403
    assert (await _sm2_sign(certs, user, bytes(range(32)), password=OTHER_PASSWORD)).status == 200


async def test_certificate_older_than_sm2_gets_its_twin_at_the_next_password_use(
        certs: CertsHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    user = certs.person()
    monkeypatch.setattr(activation_module, "sm2_events", lambda *a, **k: [])  # as before SM2
    await certs.activate(user)
    monkeypatch.undo()
    before = (await certs.request("GET", f"/internal/principals/{user.id}/certificate",
                                  internal=True)).json
    assert "sm2_certificate_pem" not in before
    assert (await certs.request("GET", "/api/v1/certificate", token=user.token)).json["sm2"] is None
    # a wrong password makes no twin
    assert (await _sm2_sign(certs, user, bytes(32), password="Wrong#2026pw")).status == 403
    assert await certs.sql("SELECT 1 FROM sm2_certificates s JOIN certificates c"
                           " USING (certificate_id) WHERE c.owner_id = $1", user.id) == []
    # the next right one (here an ECDSA signature) does
    assert (await certs.sign(user, bytes(32))).status == 200
    after = (await certs.request("GET", f"/internal/principals/{user.id}/certificate",
                                 internal=True)).json
    assert after["sm2_serial_number"]
    r = await _sm2_sign(certs, user, _e(after["sm2_certificate_pem"], b"m"))
    assert r.status == 200 and r.json["serial_number"] == after["sm2_serial_number"], r
    point = gm.sm2_point(gm.load_cert(after["sm2_certificate_pem"].encode()))
    assert gm.sm2_verify(point, b"m", base64.b64decode(r.json["signature_b64"]))


async def test_seal_sm2_signs_until_revoked_then_the_sm2_crl_lists_it(
        certs: CertsHarness) -> None:
    body = _seal_body()
    seal_id = body["seal_id"]
    issued = (await certs.request("POST", "/internal/seal-certificates", internal=True,
                                  json=body)).json
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/sm2-signatures",
                            internal=True, json={"digest_b64": _b64(bytes(32))})
    assert r.status == 200, r
    sm2_pem = r.json["certificate_pem"]
    e = _e(sm2_pem, b"seal message")
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/sm2-signatures",
                            internal=True, json={"digest_b64": _b64(e)})
    point = gm.sm2_point(gm.load_cert(sm2_pem.encode()))
    assert gm.sm2_verify(point, b"seal message", base64.b64decode(r.json["signature_b64"]))
    sm2_cert = gm.load_cert(sm2_pem.encode())
    subject = sm2_cert.subject.native
    assert subject["common_name"] == body["seal_name"]
    assert subject["organization_name"] == body["enterprise_name"]
    keys = await certs.sql("SELECT protection, wrapped FROM private_keys WHERE owner = $1",
                           f"{issued['certificate_id']}/sm2")
    assert keys[0]["protection"] == "master" and bytes(keys[0]["wrapped"]).startswith(b"EW1")

    # verification of an OFD attributes its SM2 signer from certs' record, as for ECDSA
    sm2_serial = r.json["serial_number"]
    found = await certs.request("GET", f"/internal/seal-certificates/by-serial/{sm2_serial}",
                                internal=True)
    assert found.status == 200, found
    assert (found.json["seal_id"], found.json["serial_number"]) == (seal_id, sm2_serial)
    assert found.json["fingerprint_sha256"] == hashlib.sha256(sm2_cert.dump()).hexdigest()
    revoked = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/revocation",
                                  internal=True, json={"reason": "seal_revoked"})
    assert revoked.status == 200, revoked
    found = await certs.request("GET", f"/internal/seal-certificates/by-serial/{sm2_serial}",
                                internal=True)
    assert found.json["status"] == "revoked" and found.json["revoked_at"], found
    again = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/sm2-signatures",
                                internal=True, json={"digest_b64": _b64(e)})
    assert again.status == 409 and again.json["code"] == "certificate_revoked", again

    crl_reply = await certs.request("GET", "/api/v1/ca/sm2.crl")
    assert crl_reply.status == 200 and crl_reply.headers["Content-Type"] == "application/pkix-crl"
    issuing = gm.load_cert((await certs.request("GET", "/api/v1/ca/sm2-issuing.pem")).body)
    assert gm.crl_verifies(crl_reply.body, issuing)
    assert int(sm2_cert.serial_number) in gm.crl_serials(crl_reply.body)
    assert int(issued["serial_number"], 16) not in gm.crl_serials(crl_reply.body)


async def test_seal_older_than_sm2_gets_its_twin_when_first_needed(
        certs: CertsHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_twin(*args: object, **kw: object) -> list[object]:
        return []

    monkeypatch.setattr(seals_module.sm2, "seal_events", no_twin)
    body = _seal_body()
    issued = (await certs.request("POST", "/internal/seal-certificates", internal=True,
                                  json=body)).json
    monkeypatch.undo()
    assert await certs.sql("SELECT 1 FROM sm2_certificates WHERE certificate_id = $1",
                           uuid.UUID(issued["certificate_id"])) == []
    r = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/sm2-signatures",
                            internal=True, json={"digest_b64": _b64(bytes(32))})
    assert r.status == 200, r
    types = [row["type"] for row in await certs.sql(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", issued["certificate_id"])]
    assert types == ["SealCertificateCreated", "CertificateIssued", "Sm2CertificateAdded",
                     "Sm2CertificateIssued"]


def _png(width: int = 120, height: int = 120) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 0, 0, 255)).save(out, format="PNG")
    return out.getvalue()


async def test_esl_is_a_seal_signed_by_the_seal_maker_listing_its_signers(
        certs: CertsHarness) -> None:
    body = _seal_body()
    seal_id = body["seal_id"]
    await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    grantee, never_activated = certs.person(), certs.person()
    await certs.activate(grantee)
    created = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    png = _png()
    r = await certs.request("POST", f"/internal/seal-certificates/{seal_id}/esl", internal=True, json={
        "name": body["seal_name"], "seal_type": 1, "picture_png_b64": _b64(png), "width_mm": 42,
        "height_mm": 42, "created_at": created.isoformat(),
        "signer_principal_ids": [str(grantee.id), str(never_activated.id)]})
    assert r.status == 200, r
    assert r.json["unlisted_principal_ids"] == [str(never_activated.id)]
    seal = gm.parse_seal(base64.b64decode(r.json["seal_b64"]))
    assert seal.header == ("ES", 4, "ESEAL")
    assert seal.es_id == uuid.UUID(seal_id).hex.upper()
    assert (seal.seal_type, seal.name, seal.cert_list_type) == (1, body["seal_name"], 1)
    assert (seal.picture_type, seal.picture, seal.width_mm, seal.height_mm) == ("PNG", png, 42, 42)
    assert seal.created == created and seal.valid_from == created and seal.valid_to > created
    assert seal.maker_signature_ok()
    ca = await _ca(certs)
    root, issuing = (gm.load_cert(ca["sm2_root_pem"].encode()),
                     gm.load_cert(ca["sm2_issuing_pem"].encode()))
    maker = gm.load_cert(seal.maker_cert)
    assert gm.chains(maker, issuing, root)
    assert maker.dump() == gm.load_cert(ca["sm2_seal_maker_pem"].encode()).dump()
    # certList: the seal's SM2 certificate, then the grantee's
    listed = [gm.load_cert(c) for c in seal.certificates]
    assert [format(c.serial_number, "X") for c in listed] == r.json["signer_serial_numbers"]
    assert listed[0].subject.native["common_name"] == body["seal_name"]
    status = (await certs.request("GET", f"/internal/principals/{grantee.id}/certificate",
                                  internal=True)).json
    assert format(listed[1].serial_number, "X") == status["sm2_serial_number"]
    assert all(gm.chains(c, issuing, root) for c in listed)
    (oid, value), = seal.ext_datas
    assert oid.startswith("2.25.") and str(seal_id) in value.decode()
    # one flipped bit in the signed part breaks the maker's signature
    tampered = bytearray(base64.b64decode(r.json["seal_b64"]))
    tampered[tampered.index(png[:16]) + 20] ^= 1
    assert not gm.parse_seal(bytes(tampered)).maker_signature_ok()


async def test_esl_of_unknown_or_revoked_seal_and_bad_input(certs: CertsHarness) -> None:
    good = {"name": "x", "seal_type": 1, "picture_png_b64": _b64(_png()), "width_mm": 42,
            "height_mm": 42, "created_at": "2026-01-01T00:00:00Z", "signer_principal_ids": []}
    r = await certs.request("POST", f"/internal/seal-certificates/{uuid.uuid4()}/esl",
                            internal=True, json=good)
    assert r.status == 404 and r.json["code"] == "seal_certificate_not_found", r
    body = _seal_body()
    await certs.request("POST", "/internal/seal-certificates", internal=True, json=body)
    bad = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/esl",
                              internal=True, json={**good, "picture_png_b64": _b64(b"GIF89a")})
    assert bad.status == 422, bad
    bad = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/esl",
                              internal=True, json={**good, "seal_type": 7})
    assert bad.status == 422, bad
    await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/revocation",
                        internal=True, json={"reason": "seal_revoked"})
    r = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/esl",
                            internal=True, json=good)
    assert r.status == 409 and r.json["code"] == "certificate_revoked", r
    # public callers cannot reach the internal endpoints
    r = await certs.request("POST", f"/internal/seal-certificates/{body['seal_id']}/esl", json=good)
    assert r.status in (401, 403, 404), r


async def _both(certs: CertsHarness, user: User, digest: bytes, e: bytes,
                password: str = PASSWORD) -> Any:
    return await certs.request("POST", f"/internal/principals/{user.id}/signatures",
                               internal=True, json={"digest_b64": _b64(digest),
                                                    "sm2_digests_b64": [_b64(e)],
                                                    "certificate_password": password})


async def test_ecdsa_and_sm2_digests_are_signed_under_one_password_check(
        certs: CertsHarness) -> None:
    """An OFD's personal signature beside the stamp's authorization: both keys, one check, a
    wrong password counted once (not once per key)."""
    user = certs.person()
    await certs.activate(user)
    status = (await certs.request("GET", f"/internal/principals/{user.id}/certificate",
                                  internal=True)).json
    digest, message = hashlib.sha256(b"authorization").digest(), b"TBS_Sign of the person"
    wrong = await _both(certs, user, digest, _e(status["sm2_certificate_pem"], message),
                        password="Wrong#2026pw")
    assert wrong.status == 403 and wrong.json["attempts_left"] == 4, wrong
    r = await _both(certs, user, digest, _e(status["sm2_certificate_pem"], message))
    assert r.status == 200, r
    assert r.json["serial_number"] == status["serial_number"] and "more_signatures_b64" not in r.json
    (sm2_sig,) = r.json["sm2_signatures"]
    assert (sm2_sig["algorithm"], sm2_sig["serial_number"]) == ("sm2-sm3", status["sm2_serial_number"])
    point = gm.sm2_point(gm.load_cert(sm2_sig["certificate_pem"].encode()))
    assert gm.sm2_verify(point, message, base64.b64decode(sm2_sig["signature_b64"]))
    too_many = await certs.request("POST", f"/internal/principals/{user.id}/signatures",
                                   internal=True, json={"digest_b64": _b64(digest),
                                                        "sm2_digests_b64": [_b64(digest)] * 2,
                                                        "certificate_password": PASSWORD})
    assert too_many.status == 422 and too_many.json["code"] == "validation_failed", too_many


async def test_a_persons_own_seal_lists_only_the_persons_sm2_certificate(
        certs: CertsHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    user = certs.person()
    body = {"picture_png_b64": _b64(_png(200, 80)), "width_mm": 42, "height_mm": 17}
    path = f"/internal/principals/{user.id}/sm2-seal"
    none = await certs.request("POST", path, internal=True, json=body)
    assert none.status == 404 and none.json["code"] == "certificate_not_activated", none
    await certs.activate(user)
    status = (await certs.request("GET", f"/internal/principals/{user.id}/certificate",
                                  internal=True)).json
    r = await certs.request("POST", path, internal=True, json=body)
    assert r.status == 200, r
    assert r.json["serial_number"] == status["sm2_serial_number"]
    seal = gm.parse_seal(base64.b64decode(r.json["seal_b64"]))
    assert seal.header[:2] == ("ES", 4) and seal.seal_type == 2  # 个人印章
    assert seal.es_id == "P" + user.id.hex.upper()
    assert seal.certificates == [gm.load_cert(status["sm2_certificate_pem"].encode()).dump()]
    assert (seal.width_mm, seal.height_mm) == (42, 17) and seal.picture == _png(200, 80)
    assert seal.maker_signature_ok()
    maker = gm.load_cert((await certs.request("GET", "/api/v1/ca/sm2-seal-maker.pem")).body)
    assert seal.maker_cert == maker.dump()
    assert seal.name == gm.load_cert(status["sm2_certificate_pem"].encode()).subject.native["common_name"]
    not_png = await certs.request("POST", path, internal=True,
                                  json={**body, "picture_png_b64": _b64(b"GIF89a")})
    assert not_png.status == 422 and not_png.json["code"] == "validation_failed", not_png
    outside = await certs.request("POST", path, json=body)  # internal only: not even seen
    assert outside.status == 404 and outside.json["code"] == "not_found", outside

    # a certificate older than SM2: no twin to list until its password is used again
    old = certs.person()
    monkeypatch.setattr(activation_module, "sm2_events", lambda *a, **k: [])
    await certs.activate(old)
    monkeypatch.undo()
    pending = await certs.request("POST", f"/internal/principals/{old.id}/sm2-seal", internal=True,
                                  json=body)
    assert pending.status == 409 and pending.json["code"] == "sm2_certificate_pending", pending
