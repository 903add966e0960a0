"""Automatic renewal of a seal's certificate, end to end: a seal stamps, its certificate is
renewed (certs' sandbox hook runs what the hourly round does within 30 days of expiry), the
seal switches to it (``SealCertificateRenewed`` over the bus), the next stamp is signed with
the new certificate, and both stamps verify (POST /api/v1/verifications and pyHanko)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.internal import internal_token
from tests.conftest import Platform
from tests.e2e.test_certs import DEV_INTERNAL_SECRET
from tests.e2e.test_ofd import request_ofd
from tests.e2e.test_ofd import verify as verify_ofd
from tests.e2e.test_stamping import (
    Hooks,
    World,
    client_token,
    create_client,
    grant,
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
from tests.support import gm_independent as gm
from tests.support.api import Api
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def _internal(caller: str, callee: str) -> dict[str, str]:
    return {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, caller, callee)}


async def _stamped(api: Api, w: World) -> bytes:
    req = await pending(api, w)
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    r = await stamp(api, w.person, req["request_id"], w.seal)
    assert r.status == 201, r
    doc = await result(api, w, req["request_id"])
    assert doc.status == 200, doc
    return doc.body


async def _verified(api: Api, w: World, doc: bytes) -> dict[str, Any]:
    v = await verify(api, doc)
    assert v.status == 200 and v.json["result"] == "passed", v
    sig: dict[str, Any] = v.json["signatures"][0]
    assert sig["intact"] and sig["trusted"] and sig["seal_id"] == w.seal["seal_id"], sig
    status_, _ = await pyhanko_validation(doc, w.root_pem)
    assert status_.intact and status_.valid and status_.trusted, status_.pretty_print_details()
    assert sig["signer_certificate"]["serial"] == format(status_.signing_cert.serial_number, "X")
    return sig


async def _world(api: Api, platform: Platform, client_name: str) -> World:
    """An enterprise with a contract seal granted to a person, and a relying system."""
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise, "contract")
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, client_name)
    client.token = await client_token(api, client)
    return World(enterprise, seal, person, client, Hooks(""), (await api.get("/api/v1/ca/root.pem")).body)


async def _seal_serial(api: Api, platform: Platform, seal_id: str) -> str | None:
    """The certificate serial seals answers for the seal now (None while it cannot say)."""
    got = await api.get(f"{platform.internal_urls('seals')[0]}/internal/seals/{seal_id}",
                        headers=_internal("stamping", "seals"))
    return got.json.get("certificate_serial") if got.status == 200 else None


async def _switched(api: Api, platform: Platform, seal_id: str, old_serial: str | None) -> str:
    """Waits until seals names a certificate other than ``old_serial`` (the renewal's event
    has arrived) and returns it."""

    async def switched() -> str | None:
        serial = await _seal_serial(api, platform, seal_id)
        return serial if serial and serial != old_serial else None

    new_serial: str = await eventually(switched, 20, every=0.2, what="seals switched to the new certificate")
    return new_serial


async def test_a_renewed_seal_certificate_signs_new_stamps_and_old_ones_still_verify(
        api: Api, platform: Platform) -> None:
    w = await _world(api, platform, "证照续期系统")
    seal = w.seal

    earlier = await _stamped(api, w)
    old_serial = (await _verified(api, w, earlier))["signer_certificate"]["serial"]

    # no public route renews a certificate; certs' sandbox hook is internal
    r = await api.post(f"/api/v1/sandbox/seal-certificates/{seal['seal_id']}/renewal",
                       token=w.enterprise.token)
    assert r.status in (401, 403, 404, 405), r
    certs_url = platform.internal_urls("certs")[0]
    hook = f"{certs_url}/internal/sandbox/seal-certificates/{seal['seal_id']}/renewal"
    assert (await api.post(hook)).status in (401, 403), "the hook needs the internal token"
    r = await api.post(hook, headers=_internal("seals", "certs"))
    assert r.status == 200 and r.json == {"renewed": True}, r

    new_serial = await _switched(api, platform, seal["seal_id"], old_serial)

    later = await _stamped(api, w)
    sig = await _verified(api, w, later)
    assert sig["signer_certificate"]["serial"] == new_serial != old_serial
    # the earlier stamp still verifies, its certificate not revoked
    sig = await _verified(api, w, earlier)
    assert sig["signer_certificate"]["serial"] == old_serial and sig["revoked_at"] is None, sig


async def _ofd_stamped(api: Api, w: World) -> bytes:
    created = await request_ofd(api, w.client.token)
    assert created.status == 201, created
    req = created.json
    assert (await scan(api, w.person, req["qr_payload"])).status == 200
    r = await stamp(api, w.person, req["request_id"], w.seal)
    assert r.status == 201, r
    doc = await api.get(f"/api/v1/stamp-requests/{req['request_id']}/result", token=w.client.token)
    assert doc.status == 200, doc
    return doc.body


async def _ofd_signer(api: Api, doc: bytes) -> str:
    v = await verify_ofd(api, doc)
    assert v.status == 200 and v.json["result"] == "passed", v
    (sig,) = v.json["signatures"]
    assert sig["intact"] and sig["trusted"] and sig["recorded"], sig
    (check,) = gm.check_ofd(doc)  # the embedded SES_Seal lists the certificate that signed
    assert check.ok and check.signature is not None, check
    assert check.signature.seal.certificates == [check.signature.signer_cert]
    return str(sig["signer_certificate"]["serial"])


async def test_after_a_renewal_an_ofd_stamp_embeds_the_seal_made_for_the_new_certificate(
        api: Api, platform: Platform) -> None:
    """stamping keeps a seal's SES_Seal per certificate serial: a renewal must not leave the
    old one in new stamps (its listed certificate would no longer be the signer)."""
    w = await _world(api, platform, "公文续期系统")
    seal = w.seal

    earlier = await _ofd_stamped(api, w)
    old_signer = await _ofd_signer(api, earlier)
    assert await _ofd_signer(api, await _ofd_stamped(api, w)) == old_signer  # kept: the same

    old_serial = await _seal_serial(api, platform, seal["seal_id"])
    certs_url = platform.internal_urls("certs")[0]
    hook = f"{certs_url}/internal/sandbox/seal-certificates/{seal['seal_id']}/renewal"
    r = await api.post(hook, headers=_internal("seals", "certs"))
    assert r.status == 200 and r.json == {"renewed": True}, r

    await _switched(api, platform, seal["seal_id"], old_serial)
    assert await _ofd_signer(api, await _ofd_stamped(api, w)) != old_signer
    assert await _ofd_signer(api, earlier) == old_signer  # the earlier stamp still verifies
