"""个人电子签名: one per person, handwritten or generated; validation of uploads."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw
from seals.adapters.images import sha256_hex

from tests.support.harnesses.seals import Person, Seals


def handwriting(width: int = 400, height: int = 160) -> bytes:
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(20, 120), (120, 30), (200, 130), (300, 40), (380, 110)], fill="black", width=8)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def create(seals: Seals, p: Person, body: dict[str, object]) -> object:
    return await seals.call("POST", "/api/v1/my/signature", p.token, json=body)


async def test_generated_signature_from_the_registered_name(seals: Seals) -> None:
    p = await seals.person()
    assert (await seals.call("GET", "/api/v1/my/signature", p.token)).status == 404
    r = await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    assert r.status == 201, r
    assert r.json["method"] == "generated" and r.json["image_url"] == "/api/v1/my/signature/image"
    got = await seals.call("GET", "/api/v1/my/signature", p.token)
    assert got.json == r.json
    img = await seals.call("GET", "/api/v1/my/signature/image", p.token)
    assert img.status == 200 and img.content_type == "image/png"
    assert sha256_hex(img.body) == r.json["image_sha256"]
    picture = Image.open(io.BytesIO(img.body))
    assert picture.mode == "RGBA" and picture.getpixel((0, 0))[3] == 0
    events = await seals.events_of(r.json["signature_id"])
    assert events == [("PersonalSignatureCreated", {"signature_id": r.json["signature_id"],
                                                    "person_id": str(p.person_id), "method": "generated",
                                                    "image_sha256": r.json["image_sha256"]})]


async def test_generated_signature_asks_identity_when_the_person_event_is_late(seals: Seals) -> None:
    p = await seals.person(in_directory=False)
    r = await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    assert r.status == 201, r


async def test_only_one_signature_and_it_can_be_replaced_after_deletion(seals: Seals) -> None:
    p = await seals.person()
    hand = base64.b64encode(handwriting()).decode()
    first = await seals.call("POST", "/api/v1/my/signature", p.token,
                             json={"method": "handwritten", "image_png": hand})
    assert first.status == 201, first
    r = await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    assert r.status == 409 and r.json["code"] == "signature_exists"
    assert (await seals.call("DELETE", "/api/v1/my/signature", p.token)).status == 204
    assert (await seals.call("GET", "/api/v1/my/signature", p.token)).status == 404
    assert (await seals.call("GET", "/api/v1/my/signature/image", p.token)).status == 404
    assert (await seals.call("DELETE", "/api/v1/my/signature", p.token)).status == 404
    events = await seals.events_of(first.json["signature_id"])
    assert [t for t, _ in events] == ["PersonalSignatureCreated", "PersonalSignatureDeleted"]
    async with seals.pool.acquire() as conn:  # the picture of a deleted signature is gone
        assert await conn.fetchval("SELECT count(*) FROM signature_images WHERE signature_id = $1",
                                   __import__("uuid").UUID(first.json["signature_id"])) == 0
    second = await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    assert second.status == 201 and second.json["signature_id"] != first.json["signature_id"]


async def test_handwritten_signature_is_cleaned_to_transparent_ink(seals: Seals) -> None:
    p = await seals.person()
    data_url = "data:image/png;base64," + base64.b64encode(handwriting()).decode()
    r = await seals.call("POST", "/api/v1/my/signature", p.token,
                         json={"method": "handwritten", "image_png": data_url})
    assert r.status == 201, r
    img = Image.open(io.BytesIO((await seals.call("GET", "/api/v1/my/signature/image", p.token)).body))
    assert img.mode == "RGBA" and img.getpixel((0, 0))[3] == 0


async def test_concurrent_creations_leave_one_signature(seals: Seals) -> None:
    import asyncio

    p = await seals.person()
    replies = await asyncio.gather(*(seals.call("POST", "/api/v1/my/signature", p.token,
                                                json={"method": "generated"}) for _ in range(5)))
    assert sorted(r.status for r in replies) == [201, 409, 409, 409, 409]


async def test_bad_uploads_are_refused_naming_the_field_and_write_nothing(seals: Seals) -> None:
    p = await seals.person()
    before = await seals.count_events()
    blank = io.BytesIO()
    Image.new("RGB", (300, 100), "white").save(blank, format="PNG")
    tiny = io.BytesIO()
    Image.new("RGB", (10, 10), "black").save(tiny, format="PNG")
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10)
    cases = [
        ({"method": "handwritten", "image_png": "%%% not base64 %%%"}, 422, "invalid_base64"),
        ({"method": "handwritten", "image_png": base64.b64encode(b"GIF89a....").decode()}, 422, "not_png"),
        ({"method": "handwritten", "image_png": base64.b64encode(blank.getvalue()).decode()}, 422,
         "signature_empty"),
        ({"method": "handwritten", "image_png": base64.b64encode(tiny.getvalue()).decode()}, 422,
         "image_too_small"),
        ({"method": "handwritten", "image_png": base64.b64encode(huge).decode()}, 413, "image_too_large"),
        ({"method": "handwritten"}, 422, "validation_failed"),
        ({"method": "generated", "image_png": "AAAA"}, 422, "validation_failed"),
        ({"method": "stamped"}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        r = await seals.call("POST", "/api/v1/my/signature", p.token, json=body)
        assert r.status == status and r.json["code"] == code, (code, r)
        assert r.content_type == "application/problem+json"
        assert r.json["errors"][0]["field"] in ("image_png", "method"), r
    assert await seals.count_events() == before
    assert (await seals.call("GET", "/api/v1/my/signature", p.token)).status == 404


async def test_signatures_belong_to_persons_only(seals: Seals) -> None:
    e = await seals.enterprise()
    r = await seals.call("POST", "/api/v1/my/signature", e.token, json={"method": "generated"})
    assert r.status == 403


async def test_stamping_reads_the_persons_signature_internally(seals: Seals) -> None:
    """Issue 15: a stamp's ``signature`` placement draws the person's own signature."""
    p = await seals.person()
    missing = await seals.internal("GET", f"/internal/persons/{p.person_id}/signature")
    assert missing.status == 404 and missing.json["code"] == "signature_not_found", missing
    r = await create(seals, p, {"method": "generated"})
    img = await seals.internal("GET", f"/internal/persons/{p.person_id}/signature")
    assert img.status == 200 and img.content_type == "image/png"
    assert sha256_hex(img.body) == r.json["image_sha256"]  # type: ignore[attr-defined]
    # internal only: a person's token does not open it
    denied = await seals.call("GET", f"/internal/persons/{p.person_id}/signature", p.token)
    assert denied.status in (401, 404), denied
    await seals.call("DELETE", "/api/v1/my/signature", p.token)
    gone = await seals.internal("GET", f"/internal/persons/{p.person_id}/signature")
    assert gone.status == 404, gone
