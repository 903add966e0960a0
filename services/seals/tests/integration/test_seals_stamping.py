"""The internal API stamping relies on, and the guarantee that matters legally: once a
revocation, a grant deletion or a shortening has been answered, no signature relying on
what it took away is made any more.

The fake certs takes a while to sign (``sign_delay``) and records when it signed. Without the
row locks, a signature that checked the seal just before a revocation would be signed after
the revocation was answered; the tests below would catch it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from PIL import Image
from seals.adapters.rendering import SEAL_TYPES

from shared.china_time import today_in_china
from tests.support.api import Reply
from tests.support.harnesses.seals import Enterprise, Person, Seals

TODAY = today_in_china()


async def _granted(seals: Seals, type_code: str = "contract") -> tuple[Enterprise, Person, str, str]:
    e = await seals.enterprise()
    p = await seals.person()
    seal_id = (await seals.issue(e, type_code)).json["seal_id"]
    grant_id = (await seals.grant(e, seal_id, p)).json["grant_id"]
    return e, p, seal_id, grant_id


async def test_stamp_signature_answers_what_stamping_needs(seals: Seals) -> None:
    e, p, seal_id, _ = await _granted(seals, "invoice")
    digest = bytes(range(32))
    r = await seals.stamp(seal_id, p, e, digest)
    assert r.status == 200, r
    assert base64.b64decode(r.json["signature_b64"]) == b"sig:" + digest
    assert r.json["algorithm"] == "ecdsa-p256-sha256"
    assert r.json["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert r.json["chain_pem"] == ["issuing", "root"]
    assert r.json["seal"] == {"seal_id": seal_id, "name": e.info.name + "发票专用章", "type": "invoice",
                              "type_label": "发票专用章", "enterprise_id": str(e.id),
                              "enterprise_name": e.info.name, "enterprise_uscc": e.info.uscc}


async def test_stamp_signature_refusals(seals: Seals) -> None:
    e, p, seal_id, grant_id = await _granted(seals)
    other_enterprise = await seals.enterprise()
    stranger = await seals.person()
    cases = [
        (await seals.stamp(seal_id, stranger, e), 403, "not_authorized"),
        (await seals.stamp(seal_id, p, other_enterprise), 403, "not_authorized"),
        (await seals.stamp(uuid.uuid4(), p, e), 403, "not_authorized"),
        (await seals.stamp(seal_id, p, e, b"short"), 422, "validation_failed"),
    ]
    for r, status, code in cases:
        assert r.status == status and r.json["code"] == code, r
    bad = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures",
                               json={"person_id": str(p.person_id), "enterprise_id": str(e.id),
                                     "digest_b64": "***"})
    assert bad.status == 422
    await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{grant_id}", e.token)
    r = await seals.stamp(seal_id, p, e)
    assert r.status == 403 and r.json["code"] == "not_authorized"
    await seals.grant(e, seal_id, p)
    assert (await seals.stamp(seal_id, p, e)).status == 200
    await seals.revoke(e, seal_id)
    r = await seals.stamp(seal_id, p, e)
    assert r.status == 409 and r.json["code"] == "seal_revoked"


async def test_certs_refusing_a_revoked_certificate_reads_as_seal_revoked(seals: Seals) -> None:
    e, p, seal_id, _ = await _granted(seals)
    seals.ca.revoked[uuid.UUID(seal_id)] = "test"
    r = await seals.stamp(seal_id, p, e)
    assert r.status == 409 and r.json["code"] == "seal_revoked"


async def test_internal_seal_record_image_and_enterprise_seals(seals: Seals) -> None:
    e, _, seal_id, _ = await _granted(seals)
    r = await seals.internal("GET", f"/internal/seals/{seal_id}")
    assert r.status == 200
    assert r.json["enterprise_name"] == e.info.name and r.json["enterprise_uscc"] == e.info.uscc
    assert r.json["status"] == "active" and r.json["revoked_at"] is None and r.json["certificate_serial"]
    img = await seals.internal("GET", f"/internal/seals/{seal_id}/image")
    assert img.status == 200 and img.content_type == "image/png"
    # the type's real size, and a PNG that says it prints at that size (plus 0.5 mm a side)
    kind = SEAL_TYPES[r.json["type"]]
    assert (r.json["shape"], r.json["width_mm"], r.json["height_mm"]) == (kind.shape, kind.width_mm,
                                                                          kind.height_mm)
    png = Image.open(io.BytesIO(img.body))
    dpi = png.info["dpi"][0]
    assert png.width / dpi * 25.4 == pytest.approx(kind.width_mm + 1, abs=0.1)
    assert png.height / dpi * 25.4 == pytest.approx(kind.height_mm + 1, abs=0.1)
    await seals.revoke(e, seal_id)
    r = await seals.internal("GET", f"/internal/seals/{seal_id}")
    assert r.json["status"] == "revoked" and r.json["revoked_at"]
    listed = await seals.internal("GET", f"/internal/enterprises/{e.id}/seals")
    assert listed.json["seal_ids"] == [seal_id]
    assert (await seals.internal("GET", f"/internal/seals/{uuid.uuid4()}")).status == 404


# --- the race ----------------------------------------------------------------------------


async def _race(seals: Seals, *, seal_id: str, person: Person, enterprise: Enterprise,
                make_change: Callable[[], Awaitable[Reply]], requests: int = 24) -> None:
    """Fire ``requests`` signature requests spread over time, make the change in the middle,
    and check that none was signed after the change was answered, and that none sent after
    the answer succeeded."""
    answered_at: list[float] = []
    results: list[tuple[float, int]] = []  # (sent at, status)

    async def one(delay: float) -> None:
        await asyncio.sleep(delay)
        sent = time.monotonic()
        r = await seals.stamp(seal_id, person, enterprise, digest=uuid.uuid4().bytes * 2)
        assert r.status in (200, 403, 409), r
        results.append((sent, r.status))

    async def changer() -> None:
        await asyncio.sleep(0.03)
        r = await make_change()
        assert r.status in (200, 204), r
        answered_at.append(time.monotonic())

    seals.ca.signed.clear()
    await asyncio.gather(changer(), *(one(i * 0.004) for i in range(requests)))
    cut = answered_at[0]
    signed_after = [t for sid, t in seals.ca.signed if str(sid) == seal_id and t > cut]
    assert signed_after == [], f"{len(signed_after)} signatures made after the change was answered"
    assert all(status != 200 for sent, status in results if sent > cut)


async def test_no_signature_after_a_revocation_was_answered(seals: Seals) -> None:
    seals.ca.sign_delay = 0.015
    try:
        for _ in range(6):
            e, p, seal_id, _ = await _granted(seals)
            await _race(seals, seal_id=seal_id, person=p, enterprise=e,
                        make_change=lambda e=e, s=seal_id: seals.revoke(e, s))
    finally:
        seals.ca.sign_delay = 0.0


async def test_no_signature_after_a_grant_deletion_was_answered(seals: Seals) -> None:
    seals.ca.sign_delay = 0.015
    try:
        for _ in range(6):
            e, p, seal_id, grant_id = await _granted(seals)
            await _race(seals, seal_id=seal_id, person=p, enterprise=e,
                        make_change=lambda e=e, s=seal_id, g=grant_id: seals.call(
                            "DELETE", f"/api/v1/seals/{s}/grants/{g}", e.token))
    finally:
        seals.ca.sign_delay = 0.0


async def test_no_signature_after_a_grant_was_shortened_to_the_past(seals: Seals) -> None:
    seals.ca.sign_delay = 0.015
    ended = {"valid_from": (TODAY - timedelta(days=3)).isoformat(),
             "valid_to": (TODAY - timedelta(days=1)).isoformat()}
    try:
        for _ in range(6):
            e, p, seal_id, grant_id = await _granted(seals)
            await _race(seals, seal_id=seal_id, person=p, enterprise=e,
                        make_change=lambda e=e, s=seal_id, g=grant_id: seals.call(
                            "PATCH", f"/api/v1/seals/{s}/grants/{g}", e.token, json=ended))
    finally:
        seals.ca.sign_delay = 0.0


async def test_signatures_in_flight_hold_up_the_revocation_not_the_other_way(seals: Seals) -> None:
    """A revocation waits for the signature being made when it arrived (FOR UPDATE after
    FOR SHARE) and is answered only after it."""
    e, p, seal_id, _ = await _granted(seals)
    seals.ca.sign_delay = 0.3
    try:
        stamp = asyncio.create_task(seals.stamp(seal_id, p, e))
        await asyncio.sleep(0.1)  # the signature is being made
        started = time.monotonic()
        revoked = await seals.revoke(e, seal_id)
        waited = time.monotonic() - started
        signed = await stamp
    finally:
        seals.ca.sign_delay = 0.0
    assert signed.status == 200 and revoked.status == 200
    assert waited >= 0.15


async def test_sm2_stamp_signature_and_the_seal_an_ofd_embeds(seals: Seals) -> None:
    """OFD stamping: the seal's SM2 twin signs under the same decision; the esl lists it."""
    from shared.gm.sm2 import Sm2PublicKey, signing_digest
    from shared.gm.x509 import load_certificate, public_key_of
    from tests.support import gm_independent as gm

    e, p, seal_id, grant_id = await _granted(seals, "contract")
    r = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-esl",
                             json={"person_id": str(p.person_id), "enterprise_id": str(e.id)})
    assert r.status == 200, r
    parsed = gm.parse_seal(base64.b64decode(r.json["seal_b64"]))
    assert parsed.maker_signature_ok()
    seal_cert = seals.ca.sm2.certificate(uuid.UUID(seal_id))
    assert parsed.certificates == [seal_cert]  # the signer only: no grantee named in a document

    key: Sm2PublicKey = public_key_of(load_certificate(seal_cert))
    e_value = signing_digest(key, b"TBS_Sign")
    r = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures", json={
        "person_id": str(p.person_id), "enterprise_id": str(e.id), "algorithm": "sm2-sm3",
        "digest_b64": base64.b64encode(e_value).decode()})
    assert r.status == 200, r
    assert r.json["algorithm"] == "sm2-sm3"
    assert key.verify(b"TBS_Sign", base64.b64decode(r.json["signature_b64"]))
    assert load_certificate(r.json["certificate_pem"].encode()).dump() == seal_cert
    assert r.json["seal"]["seal_id"] == seal_id
    assert "timestamp_token_b64" not in r.json  # only when asked for
    # asked for: certs' token over the signature value comes back in the same answer
    r = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures", json={
        "person_id": str(p.person_id), "enterprise_id": str(e.id), "algorithm": "sm2-sm3",
        "digest_b64": base64.b64encode(e_value).decode(), "timestamp": True})
    assert r.status == 200, r
    signature = base64.b64decode(r.json["signature_b64"])
    assert base64.b64decode(r.json["timestamp_token_b64"]) == b"tsa:" + hashlib.sha256(signature).digest()

    stranger = await seals.person()
    refused = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-esl", json={
        "person_id": str(stranger.person_id), "enterprise_id": str(e.id)})
    assert (refused.status, refused.json["code"]) == (403, "not_authorized")
    bad = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures", json={
        "person_id": str(p.person_id), "enterprise_id": str(e.id), "algorithm": "rsa",
        "digest_b64": base64.b64encode(e_value).decode()})
    assert bad.status == 422, bad
    seals.ca.revoked[uuid.UUID(seal_id)] = "test"
    r = await seals.internal("POST", f"/internal/seals/{seal_id}/stamp-signatures", json={
        "person_id": str(p.person_id), "enterprise_id": str(e.id), "algorithm": "sm2-sm3",
        "digest_b64": base64.b64encode(e_value).decode()})
    assert (r.status, r.json["code"]) == (409, "seal_revoked")
