"""GET /api/v1/seals/{id}/esl: the seal as GB/T 38540 SES_Seal, for the enterprise and grantees.

certs is a fake at the port, but it signs for real with a test SM2 hierarchy (shared.gm);
the answer is read back with ``tests.support.gm_independent`` (bare asn1crypto + gmalglib).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.china_time import today_in_china
from tests.support import gm_independent as gm
from tests.support.harnesses.seals import Seals


async def test_enterprise_agent_and_grantee_get_the_seal_listing_current_grantees(
        seals: Seals) -> None:
    e = await seals.enterprise()
    seal = (await seals.issue(e, "invoice")).json
    seal_id = seal["seal_id"]
    now_grantee, later_grantee, deleted_grantee = [await seals.person() for _ in range(3)]
    assert (await seals.grant(e, seal_id, now_grantee)).status == 201
    today = today_in_china()
    assert (await seals.grant(e, seal_id, later_grantee, valid_from=today + timedelta(days=3),
                              valid_to=today + timedelta(days=9))).status == 201
    gone = (await seals.grant(e, seal_id, deleted_grantee)).json["grant_id"]
    assert (await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{gone}", e.token)).status == 204

    r = await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", e.token)
    assert r.status == 200, r
    assert r.content_type == "application/octet-stream"
    request = seals.ca.esl_requests[-1]
    assert request.signer_principal_ids == [now_grantee.person_id]  # usable today only
    image = await seals.call("GET", f"/api/v1/seals/{seal_id}/image", e.token)
    parsed = gm.parse_seal(r.body)
    assert parsed.header == ("ES", 4, "ESEAL")
    assert (parsed.seal_type, parsed.name) == (1, seal["name"])
    assert (parsed.picture_type, parsed.picture) == ("PNG", image.body)
    assert (parsed.width_mm, parsed.height_mm) == (40, 30)  # the oval invoice seal's real size
    assert parsed.maker_signature_ok()
    pki = seals.ca.sm2
    assert gm.signed_by(gm.load_cert(parsed.maker_cert), pki.issuing)
    assert parsed.certificates == [pki.certificate(uuid.UUID(seal_id)),
                                   pki.certificate(now_grantee.person_id)]

    agent_id, agent_token = await seals.agent(e, can_manage=False)
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", agent_token)).status == 200
    for person in (now_grantee, later_grantee):  # a grantee, also one whose window is ahead
        got = await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", person.token)
        assert got.status == 200, got
        assert gm.parse_seal(got.body).maker_signature_ok()


async def test_outsiders_get_404_and_a_revoked_seal_409(seals: Seals) -> None:
    e, other = await seals.enterprise(), await seals.enterprise()
    seal_id = (await seals.issue(e, "legal_representative")).json["seal_id"]
    grantee, stranger = await seals.person(), await seals.person()
    gone = (await seals.grant(e, seal_id, grantee)).json["grant_id"]
    for token in (other.token, stranger.token):
        r = await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", token)
        assert r.status == 404 and r.json["code"] == "seal_not_found", r
    r = await seals.call("GET", f"/api/v1/seals/{uuid.uuid4()}/esl", e.token)
    assert r.status == 404, r
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}/esl")).status == 401

    r = await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", e.token)
    parsed = gm.parse_seal(r.body)
    assert parsed.seal_type == 2 and (parsed.width_mm, parsed.height_mm) == (20, 20)
    # a deleted grant ends the person's access
    await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{gone}", e.token)
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", grantee.token)).status == 404

    assert (await seals.revoke(e, seal_id)).status == 200
    r = await seals.call("GET", f"/api/v1/seals/{seal_id}/esl", e.token)
    assert r.status == 409 and r.json["code"] == "seal_revoked", r
