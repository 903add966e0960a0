"""Seal types, previews, applying for seals, listing, images, revocation (in-process, fakes
at identity and certs, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import io
import uuid

from PIL import Image
from seals.adapters.images import sha256_hex

from tests.support.harnesses.seals import Seals


def image(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    img.load()
    return img


def red_share(img: Image.Image) -> float:
    """Share of clearly visible pixels that are red ink."""
    rgba = img.convert("RGBA")
    visible = [p for p in rgba.getdata() if p[3] > 128]
    red = [p for p in visible if p[0] > 150 and p[1] < 90 and p[2] < 90]
    return len(red) / max(1, len(visible))


# --- seal types and previews -------------------------------------------------------------


async def test_seal_types_without_login_list_the_catalogue(seals: Seals) -> None:
    r = await seals.call("GET", "/api/v1/seal-types")
    assert r.status == 200
    codes = {t["code"]: t for t in r.json["items"]}
    assert {"official", "contract", "finance", "invoice", "legal_representative"} <= set(codes)
    assert codes["invoice"]["shape"] == "oval" and codes["legal_representative"]["shape"] == "square"
    assert codes["contract"]["label"] == "合同专用章"
    assert all("default_name" not in t for t in r.json["items"])


async def test_seal_types_for_an_enterprise_carry_its_default_names(seals: Seals) -> None:
    e = await seals.enterprise()
    r = await seals.call("GET", "/api/v1/seal-types", e.token)
    names = {t["code"]: t["default_name"] for t in r.json["items"]}
    assert names["contract"] == e.info.name + "合同专用章"
    assert names["legal_representative"] == e.info.legal_representative_name


async def test_enterprise_missing_from_directory_is_fetched_from_identity(seals: Seals) -> None:
    e = await seals.enterprise(in_directory=False)
    r = await seals.call("GET", "/api/v1/seal-types", e.token)
    assert r.status == 200
    assert {t["code"]: t["default_name"] for t in r.json["items"]}["finance"] == e.info.name + "财务专用章"


async def test_preview_is_a_deterministic_transparent_red_png_and_creates_nothing(seals: Seals) -> None:
    e = await seals.enterprise()
    before = await seals.count_events()
    for type_code in ("official", "contract", "finance", "invoice", "legal_representative"):
        body = {"type": type_code}
        first = await seals.call("POST", "/api/v1/seals/preview", e.token, json=body)
        second = await seals.call("POST", "/api/v1/seals/preview", e.token, json=body)
        assert first.status == 200 and first.content_type == "image/png", first
        assert first.body == second.body
        img = image(first.body)
        assert img.width >= 600 and (img.height >= 600 or type_code == "invoice")
        assert img.mode == "RGBA"
        assert img.getpixel((0, 0))[3] == 0  # transparent corner
        assert red_share(img) > 0.9
    assert await seals.count_events() == before


async def test_preview_with_an_edited_name_draws_that_name(seals: Seals) -> None:
    e = await seals.enterprise()
    a = await seals.call("POST", "/api/v1/seals/preview", e.token,
                         json={"type": "contract", "name": "长春市示例科技有限公司合同专用章"})
    b = await seals.call("POST", "/api/v1/seals/preview", e.token,
                         json={"type": "contract", "name": "长春市另一家有限公司合同专用章"})
    assert a.status == b.status == 200
    assert a.body != b.body


async def test_preview_refuses_bad_names_and_types_clearly(seals: Seals) -> None:
    e = await seals.enterprise()
    cases = [
        ({"type": "contract", "name": "中" * 51}, "name_too_long", "name"),
        ({"type": "seal_of_approval", "name": "某某章"}, "unknown_seal_type", "type"),
        ({"type": "contract", "name": "示例\ue000公司合同专用章"}, "unsupported_characters", "name"),
        ({"type": "contract", "name": "   "}, "name_required", "name"),
        ({"type": "legal_representative", "name": "某某某"}, "legal_representative_mismatch", "name"),
    ]
    for body, code, field in cases:
        r = await seals.call("POST", "/api/v1/seals/preview", e.token, json=body)
        assert r.status == 422, (body, r)
        assert r.content_type == "application/problem+json"
        assert r.json["code"] == code
        assert r.json["errors"][0]["field"] == field
    r = await seals.call("POST", "/api/v1/seals/preview", e.token,
                         json={"type": "contract", "name": "示例\ue000公司合同专用章"})
    assert "U+E000" in r.json["detail"]
    assert r.json["characters"] == [{"char": "\ue000", "codepoint": "U+E000"}]


async def test_preview_needs_an_enterprise_login(seals: Seals) -> None:
    p = await seals.person()
    assert (await seals.call("POST", "/api/v1/seals/preview", json={"type": "contract"})).status == 401
    r = await seals.call("POST", "/api/v1/seals/preview", p.token, json={"type": "contract"})
    assert r.status == 403 and r.json["code"] == "role_not_allowed"


# --- applying for seals ------------------------------------------------------------------


async def test_generated_seal_has_certificate_image_and_event(seals: Seals) -> None:
    e = await seals.enterprise()
    r = await seals.issue(e, "invoice")
    assert r.status == 201, r
    seal = r.json
    assert seal["status"] == "active" and seal["revoked_at"] is None
    assert seal["name"] == e.info.name + "发票专用章"
    assert seal["certificate_serial"]
    req = seals.ca.issued[uuid.UUID(seal["seal_id"])]
    assert (req.enterprise_uscc, req.seal_type, req.seal_type_label) == (e.info.uscc, "invoice", "发票专用章")
    img = await seals.call("GET", seal["image_url"], e.token)
    assert img.status == 200 and img.content_type == "image/png"
    assert sha256_hex(img.body) == seal["image_sha256"]
    preview = await seals.call("POST", "/api/v1/seals/preview", e.token, json={"type": "invoice"})
    assert preview.body == img.body
    events = await seals.events_of(seal["seal_id"])
    assert [t for t, _ in events] == ["SealIssued"]
    data = events[0][1]
    assert data["image_sha256"] == seal["image_sha256"] and data["issued_by"] == str(e.id)
    assert data["certificate_serial"] == seal["certificate_serial"]
    assert seals.face.consumed[-1] == (e.id, "issue_seal")


async def test_legal_representative_seal_carries_the_representatives_name(seals: Seals) -> None:
    e = await seals.enterprise(legal_representative="王小明")
    r = await seals.issue(e, "legal_representative")
    assert r.status == 201, r
    assert r.json["name"] == "王小明" and r.json["shape"] == "square"
    assert (await seals.issue(e, "finance", "吉林省某某有限公司财务专用章")).status == 201


async def test_one_active_seal_per_type_and_a_revoked_type_can_be_applied_again(seals: Seals) -> None:
    e = await seals.enterprise()
    first = await seals.issue(e, "contract")
    assert first.status == 201
    again = await seals.issue(e, "contract", "另一个名称合同专用章")
    assert again.status == 409 and again.json["code"] == "seal_type_taken"
    assert (await seals.issue(e, "finance")).status == 201  # other types are free
    assert (await seals.revoke(e, first.json["seal_id"])).status == 200
    replacement = await seals.issue(e, "contract")
    assert replacement.status == 201
    assert replacement.json["seal_id"] != first.json["seal_id"]


async def test_concurrent_applications_for_one_type_exactly_one_wins(seals: Seals) -> None:
    e = await seals.enterprise()
    seals.ca.issue_delay = 0.05
    try:
        replies = await asyncio.gather(*(seals.issue(e, "official") for _ in range(8)))
    finally:
        seals.ca.issue_delay = 0.0
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] + [409] * 7, replies
    assert all(r.json["code"] == "seal_type_taken" for r in replies if r.status == 409)
    winners = [r.json["seal_id"] for r in replies if r.status == 201]
    made = [sid for sid, req in seals.ca.issued.items() if req.enterprise_id == e.id]
    assert [str(s) for s in made] == winners  # no certificate was made for a loser


async def test_unique_index_refuses_a_second_active_seal_of_a_type(seals: Seals) -> None:
    import asyncpg
    import pytest

    e = await seals.enterprise()
    assert (await seals.issue(e, "hr")).status == 201
    async with seals.pool.acquire() as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO seals (seal_id, enterprise_id, type, name, status, image_sha256,"
                " certificate_serial, issued_by, created_at, version)"
                " VALUES ($1, $2, 'hr', 'x', 'active', '', '', $2, now(), 1)", uuid.uuid4(), e.id)


async def test_generating_needs_an_active_certificate_and_keeps_the_face_token(seals: Seals) -> None:
    e = await seals.enterprise(certificate=False)
    face = seals.face.issue(e.id, "issue_seal")
    r = await seals.call("POST", "/api/v1/seals", e.token, json={"type": "contract", "face_token": face})
    assert r.status == 403 and r.json["code"] == "certificate_required"
    assert face not in seals.face.used
    seals.ca.statuses[e.id] = "active"
    r = await seals.call("POST", "/api/v1/seals", e.token, json={"type": "contract", "face_token": face})
    assert r.status == 201


async def test_generating_needs_the_callers_own_face_check_for_issue_seal(seals: Seals) -> None:
    e = await seals.enterprise()
    other = await seals.enterprise()
    for face in (seals.face.issue(e.id, "revoke_seal"), seals.face.issue(other.id, "issue_seal"),
                 "no-such-token"):
        r = await seals.call("POST", "/api/v1/seals", e.token, json={"type": "contract", "face_token": face})
        assert (r.status, r.json["code"]) in ((403, "face_token_mismatch"), (422, "face_token_invalid")), r
    face = seals.face.issue(e.id, "issue_seal")
    assert (await seals.call("POST", "/api/v1/seals", e.token,
                             json={"type": "contract", "face_token": face})).status == 201
    r = await seals.call("POST", "/api/v1/seals", e.token, json={"type": "finance", "face_token": face})
    assert r.status == 409 and r.json["code"] == "face_token_used"
    assert await seals.count_events() > 0


async def test_bad_applications_write_nothing(seals: Seals) -> None:
    e = await seals.enterprise()
    before = await seals.count_events()
    face = seals.face.issue(e.id, "issue_seal")
    bad = [
        {"type": "contract", "name": "中" * 51, "face_token": face},
        {"type": "nope", "name": "x", "face_token": face},
        {"type": "contract", "name": "示例😀合同专用章", "face_token": face},
        {"type": "contract"},  # face_token missing
        {"type": "contract", "face_token": "", "name": "x"},
        {"type": "contract", "face_token": face, "unexpected": 1},
        {"type": 7, "face_token": face},
    ]
    for body in bad:
        r = await seals.call("POST", "/api/v1/seals", e.token, json=body)
        assert r.status == 422, (body, r)
        assert r.content_type == "application/problem+json" and r.json["code"]
        assert r.json.get("errors"), r
    assert face not in seals.face.used
    assert await seals.count_events() == before
    r = await seals.call("GET", "/api/v1/seals", e.token)
    assert r.json["items"] == []


async def test_non_json_bodies_are_refused(seals: Seals) -> None:
    e = await seals.enterprise()
    async with seals.http.post(seals.url + "/api/v1/seals", data=b"{not json",
                               headers={"Authorization": f"Bearer {e.token}",
                                        "Content-Type": "application/json"}) as r:
        assert r.status == 400
        assert (await r.json(content_type=None))["code"] == "invalid_json"


# --- list, detail, image -----------------------------------------------------------------


async def test_list_shows_active_and_revoked_seals_with_pagination(seals: Seals) -> None:
    e = await seals.enterprise()
    ids = []
    for t in ("official", "contract", "finance", "invoice"):
        r = await seals.issue(e, t)
        ids.append(r.json["seal_id"])
    await seals.revoke(e, ids[1])
    r = await seals.call("GET", "/api/v1/seals", e.token)
    assert r.status == 200
    by_id = {s["seal_id"]: s for s in r.json["items"]}
    assert set(by_id) == set(ids)
    assert by_id[ids[1]]["status"] == "revoked" and by_id[ids[1]]["revoked_at"]
    assert by_id[ids[1]]["revoke_reason"] == "遗失"
    assert by_id[ids[0]]["status"] == "active" and by_id[ids[0]]["revoked_at"] is None
    seen, cursor = [], None
    while True:
        path = "/api/v1/seals?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await seals.call("GET", path, e.token)
        seen += [s["seal_id"] for s in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 4
    refused = await seals.call("GET", "/api/v1/seals?cursor=garbage", e.token)
    assert (refused.status, refused.json["code"]) == (422, "invalid_cursor"), refused
    assert (await seals.call("GET", "/api/v1/seals?limit=1000", e.token)).status == 422
    detail = await seals.call("GET", f"/api/v1/seals/{ids[2]}", e.token)
    assert detail.status == 200 and detail.json == by_id[ids[2]]


async def test_image_supports_conditional_requests(seals: Seals) -> None:
    e = await seals.enterprise()
    seal = (await seals.issue(e, "contract")).json
    first = await seals.call("GET", seal["image_url"], e.token)
    again = await seals.call("GET", seal["image_url"], e.token,
                             headers={"If-None-Match": f'"{seal["image_sha256"]}"'})
    assert first.status == 200 and again.status == 304


async def test_unknown_and_malformed_seal_ids_are_404(seals: Seals) -> None:
    e = await seals.enterprise()
    for path in (f"/api/v1/seals/{uuid.uuid4()}", "/api/v1/seals/not-a-uuid",
                 f"/api/v1/seals/{uuid.uuid4()}/image"):
        r = await seals.call("GET", path, e.token)
        assert r.status == 404 and r.content_type == "application/problem+json"


# --- revocation --------------------------------------------------------------------------


async def test_revocation_revokes_the_certificate_and_emits_the_event(seals: Seals) -> None:
    e = await seals.enterprise()
    seal = (await seals.issue(e, "contract")).json
    r = await seals.revoke(e, seal["seal_id"], reason="印章遗失")
    assert r.status == 200, r
    assert r.json["status"] == "revoked" and r.json["revoked_at"]
    assert uuid.UUID(seal["seal_id"]) in seals.ca.revoked
    events = await seals.events_of(seal["seal_id"])
    assert [t for t, _ in events] == ["SealIssued", "SealRevoked"]
    assert events[1][1]["reason"] == "印章遗失" and events[1][1]["revoked_by"] == str(e.id)
    again = await seals.revoke(e, seal["seal_id"])
    assert again.status == 409 and again.json["code"] == "seal_revoked"
    assert seals.face.consumed[-1] == (e.id, "revoke_seal")


async def test_revocation_needs_a_face_check_for_revoke_seal(seals: Seals) -> None:
    e = await seals.enterprise()
    seal = (await seals.issue(e, "contract")).json
    face = seals.face.issue(e.id, "issue_seal")
    r = await seals.call("POST", f"/api/v1/seals/{seal['seal_id']}/revocation", e.token,
                         json={"face_token": face})
    assert r.status == 403 and r.json["code"] == "face_token_mismatch"
    assert (await seals.call("GET", f"/api/v1/seals/{seal['seal_id']}", e.token)).json["status"] == "active"


async def test_certificate_revocation_is_retried_while_certs_is_down(seals: Seals) -> None:
    e = await seals.enterprise()
    seal = (await seals.issue(e, "contract")).json
    seals.ca.fail_revocations = True
    try:
        r = await seals.revoke(e, seal["seal_id"])
        assert r.status == 200 and r.json["status"] == "revoked"
        assert uuid.UUID(seal["seal_id"]) not in seals.ca.revoked
        async with seals.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM pending_certificate_revocations"
                                       " WHERE seal_id = $1", uuid.UUID(seal["seal_id"])) == 1
            await conn.execute("UPDATE pending_certificate_revocations SET next_try = now()")
    finally:
        seals.ca.fail_revocations = False
    pending = 1
    for _ in range(50):  # the retry revokes at certs, then deletes its pending row
        async with seals.pool.acquire() as conn:
            pending = await conn.fetchval("SELECT count(*) FROM pending_certificate_revocations"
                                          " WHERE seal_id = $1", uuid.UUID(seal["seal_id"]))
        if uuid.UUID(seal["seal_id"]) in seals.ca.revoked and pending == 0:
            break
        await asyncio.sleep(0.1)
    assert uuid.UUID(seal["seal_id"]) in seals.ca.revoked
    assert pending == 0
