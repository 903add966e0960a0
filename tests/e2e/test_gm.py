"""The national-cryptography (SM2/SM3, GB/T 38540) side of the platform, through the gateway:
the SM2 root and CRL, the seal as SES_Seal for the enterprise and grantees (not outsiders),
SM2 signatures by the signing service. Checked with bare asn1crypto + gmalglib
(``tests.support.gm_independent``), never with the platform's own SM2 code.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from gmalglib.sm2 import SM2  # type: ignore[import-untyped]
from gmalglib.sm3 import SM3  # type: ignore[import-untyped]

from tests.conftest import Platform
from tests.e2e.test_seals import (
    CERT_PASSWORD,
    activate_certificate,
    enterprise,
    grant,
    internal,
    issue,
    person,
    revoke,
)
from tests.support import gm_independent as gm
from tests.support.api import Api

pytestmark = pytest.mark.e2e


async def _ca(api: Api) -> tuple[Any, Any, Any]:
    root = await api.get("/api/v1/ca/sm2-root.pem")
    assert root.status == 200 and root.headers["Content-Type"].startswith("application/x-pem-file")
    issuing = await api.get("/api/v1/ca/sm2-issuing.pem")
    maker = await api.get("/api/v1/ca/sm2-seal-maker.pem")
    return gm.load_cert(root.body), gm.load_cert(issuing.body), gm.load_cert(maker.body)


async def test_sm2_root_is_public_and_the_seal_maker_chains_to_it(api: Api) -> None:
    root, issuing, maker = await _ca(api)
    assert gm.chains(maker, issuing, root)
    crl = await api.get("/api/v1/ca/sm2.crl")
    assert crl.status == 200 and crl.headers["Content-Type"] == "application/pkix-crl"
    assert gm.crl_verifies(crl.body, issuing)


async def test_esl_for_enterprise_and_grantee_not_outsiders_then_revoked_in_the_sm2_crl(
        api: Api, platform: Platform) -> None:
    ent = await enterprise(api)
    seal = (await issue(api, ent, "contract")).json
    seal_id = seal["seal_id"]
    grantee = await person(api)
    await activate_certificate(api, grantee["token"], grantee["phone"])
    assert (await grant(api, ent, seal_id, grantee)).status == 201

    r = await api.get(f"/api/v1/seals/{seal_id}/esl", token=ent["token"])
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/octet-stream"
    parsed = gm.parse_seal(r.body)
    root, issuing, maker = await _ca(api)
    assert parsed.header == ("ES", 4, "ESEAL") and parsed.name == seal["name"]
    assert (parsed.width_mm, parsed.height_mm) == (42, 42) and parsed.picture_type == "PNG"
    image = await api.get(f"/api/v1/seals/{seal_id}/image", token=ent["token"])
    assert parsed.picture == image.body
    assert parsed.maker_signature_ok()
    assert gm.load_cert(parsed.maker_cert).dump() == maker.dump()
    assert gm.chains(gm.load_cert(parsed.maker_cert), issuing, root)
    listed = [gm.load_cert(c) for c in parsed.certificates]
    assert len(listed) == 2 and all(gm.chains(c, issuing, root) for c in listed)
    assert listed[0].subject.native["common_name"] == seal["name"]

    # the grantee's SM2 key signs (certificate password, signing service) under the listed cert
    certs_url = platform.internal_url("certs")
    message = b"TBS_Sign of a document"
    point = gm.sm2_point(listed[1])
    z = bytes(SM2(pk=point, uid=gm.DEFAULT_UID).get_entity_info())
    signed = await api.post(certs_url + f"/internal/principals/{grantee['id']}/sm2-signatures",
                            headers=internal("certs"), json={
                                "digest_b64": base64.b64encode(bytes(SM3(z + message).digest())).decode(),
                                "certificate_password": CERT_PASSWORD})
    assert signed.status == 200, signed
    assert gm.sm2_verify(point, message, base64.b64decode(signed.json["signature_b64"]))

    got = await api.get(f"/api/v1/seals/{seal_id}/esl", token=grantee["token"])
    assert got.status == 200 and gm.parse_seal(got.body).maker_signature_ok(), got
    outsider, other = await person(api), await enterprise(api, certificate=False)
    for token in (outsider["token"], other["token"]):
        refused = await api.get(f"/api/v1/seals/{seal_id}/esl", token=token)
        assert refused.status == 404 and refused.json["code"] == "seal_not_found", refused
    assert (await api.get(f"/api/v1/seals/{seal_id}/esl")).status == 401

    assert (await revoke(api, ent, seal_id)).status == 200
    crl = await api.get("/api/v1/ca/sm2.crl")
    assert gm.crl_verifies(crl.body, issuing)
    assert int(listed[0].serial_number) in gm.crl_serials(crl.body)
    assert int(listed[1].serial_number) not in gm.crl_serials(crl.body)
    r = await api.get(f"/api/v1/seals/{seal_id}/esl", token=ent["token"])
    assert r.status == 409 and r.json["code"] == "seal_revoked", r
