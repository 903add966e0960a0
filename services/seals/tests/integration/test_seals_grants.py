"""印章授权 and the natural person's side: grants, windows, what a grantee sees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from shared.china_time import today_in_china
from tests.support.harnesses.seals import Seals, fixed_clock

TODAY = today_in_china()


async def test_grant_lifecycle_with_events(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    r = await seals.grant(e, seal_id, p, valid_from=TODAY, valid_to=TODAY + timedelta(days=10))
    assert r.status == 201, r
    g = r.json
    assert g["person"] == {"name": p.name, "id_number_masked": "*" * 14 + p.id_number[-4:]}
    assert g["status"] == "active" and g["valid_to"] == (TODAY + timedelta(days=10)).isoformat()
    listed = await seals.call("GET", f"/api/v1/seals/{seal_id}/grants", e.token)
    assert [x["grant_id"] for x in listed.json["items"]] == [g["grant_id"]]
    assert p.id_number not in str(listed.json)
    patched = await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token,
                               json={"valid_to": (TODAY + timedelta(days=3)).isoformat()})
    assert patched.status == 200 and patched.json["valid_to"] == (TODAY + timedelta(days=3)).isoformat()
    same = await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token,
                            json={"valid_to": (TODAY + timedelta(days=3)).isoformat()})
    assert same.status == 200
    deleted = await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token)
    assert deleted.status == 204
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}/grants", e.token)).json["items"] == []
    again = await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token)
    assert again.status == 404
    events = await seals.events_of(g["grant_id"])
    assert [t for t, _ in events] == ["AuthorizationGranted", "AuthorizationUpdated", "AuthorizationRevoked"]
    granted = events[0][1]
    assert granted["person_id"] == str(p.person_id) and granted["seal_id"] == seal_id
    assert granted["enterprise_id"] == str(e.id) and granted["granted_by"] == str(e.id)
    assert p.id_number not in str(events)
    # the same person may be granted again once the old grant is gone
    assert (await seals.grant(e, seal_id, p)).status == 201


async def test_grantee_must_be_registered_with_matching_name_and_number(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    before = await seals.count_events()
    for name, number in ((p.name + "某", p.id_number), (p.name, p.id_number[:-2] + "00"),
                         ("未注册", "110101199001011234")):
        r = await seals.call("POST", f"/api/v1/seals/{seal_id}/grants", e.token, json={
            "name": name, "id_type": "resident_id_card", "id_number": number,
            "valid_from": TODAY.isoformat(), "valid_to": TODAY.isoformat()})
        assert r.status == 422 and r.json["code"] == "person_not_registered", r
    assert await seals.count_events() == before


async def test_bad_grant_windows_and_bodies_are_refused(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    before = await seals.count_events()
    base = {"name": p.name, "id_type": "resident_id_card", "id_number": p.id_number}
    cases = [
        ({"valid_from": "2030-05-02", "valid_to": "2030-05-01"}, "invalid_window", "valid_to"),
        ({"valid_from": "2020-01-01", "valid_to": "2020-12-31"}, "window_in_past", "valid_to"),
        ({"valid_from": "2030-13-01", "valid_to": "2030-05-01"}, "validation_failed", "valid_from"),
        ({"valid_from": "2030-01-01"}, "validation_failed", "valid_to"),
        ({"valid_from": "2030-01-01", "valid_to": "2030-02-01", "id_type": "passport"},
         "validation_failed", "id_type"),
    ]
    for extra, code, field in cases:
        r = await seals.call("POST", f"/api/v1/seals/{seal_id}/grants", e.token, json={**base, **extra})
        assert r.status == 422 and r.json["code"] == code, (extra, r)
        assert r.json["errors"][0]["field"] == field
    assert await seals.count_events() == before
    g = (await seals.grant(e, seal_id, p)).json
    r = await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token,
                         json={"valid_to": (date.fromisoformat(g["valid_from"]) - timedelta(days=1))
                               .isoformat()})
    assert r.status == 422 and r.json["code"] == "invalid_window"
    r = await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token, json={})
    assert r.status == 422
    assert len(await seals.events_of(g["grant_id"])) == 1


async def test_one_live_grant_per_person_and_seal(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    assert (await seals.grant(e, seal_id, p)).status == 201
    r = await seals.grant(e, seal_id, p)
    assert r.status == 409 and r.json["code"] == "grant_exists"


async def test_grants_on_a_revoked_seal_are_refused(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p, q = await seals.person(), await seals.person()
    g = (await seals.grant(e, seal_id, p)).json
    await seals.revoke(e, seal_id)
    r = await seals.grant(e, seal_id, q)
    assert r.status == 409 and r.json["code"] == "seal_revoked"
    r = await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token,
                         json={"valid_to": (TODAY + timedelta(days=90)).isoformat()})
    assert r.status == 409 and r.json["code"] == "seal_revoked"
    # deleting a grant of a revoked seal is housekeeping, and allowed
    r = await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{g['grant_id']}", e.token)
    assert r.status == 204


async def test_grant_status_follows_the_china_date(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    start, end = date(2031, 3, 1), date(2031, 3, 31)
    ctx = seals.ctx
    original = ctx.clock
    try:
        # 2031-02-28 23:30 in Beijing is 15:30 UTC: still pending
        ctx.clock = fixed_clock(datetime(2031, 2, 28, 15, 30, tzinfo=UTC))
        g = (await seals.grant(e, seal_id, p, valid_from=start, valid_to=end)).json
        assert g["status"] == "pending"
        mine = await seals.call("GET", f"/api/v1/my/enterprises/{e.id}/seals", p.token)
        assert mine.json["items"][0]["grant"]["status"] == "pending"
        assert mine.json["items"][0]["usable"] is False
        assert (await seals.internal("GET", f"/internal/persons/{p.person_id}/choices")).json["items"] == []
        assert (await seals.stamp(seal_id, p, e)).status == 403
        # 16:00 UTC is midnight in Beijing: the grant starts
        ctx.clock = fixed_clock(datetime(2031, 2, 28, 16, 0, tzinfo=UTC))
        listed = await seals.call("GET", f"/api/v1/seals/{seal_id}/grants", e.token)
        assert listed.json["items"][0]["status"] == "active"
        assert (await seals.stamp(seal_id, p, e)).status == 200
        # last day, 23:59 Beijing
        ctx.clock = fixed_clock(datetime(2031, 3, 31, 15, 59, tzinfo=UTC))
        assert (await seals.stamp(seal_id, p, e)).status == 200
        ctx.clock = fixed_clock(datetime(2031, 3, 31, 16, 0, tzinfo=UTC))
        listed = await seals.call("GET", f"/api/v1/seals/{seal_id}/grants", e.token)
        assert listed.json["items"][0]["status"] == "expired"
        r = await seals.stamp(seal_id, p, e)
        assert r.status == 403 and r.json["code"] == "not_authorized"
        assert (await seals.call("GET", "/api/v1/my/enterprises", p.token)).json["items"] == []
    finally:
        ctx.clock = original


async def test_a_person_granted_by_two_enterprises_sees_both_apart(seals: Seals) -> None:
    a, b = await seals.enterprise(), await seals.enterprise()
    p, stranger = await seals.person(), await seals.person()
    a1 = (await seals.issue(a, "contract")).json["seal_id"]
    a2 = (await seals.issue(a, "finance")).json["seal_id"]
    a3 = (await seals.issue(a, "hr")).json["seal_id"]  # not granted to p
    b1 = (await seals.issue(b, "official")).json["seal_id"]
    for e, sid in ((a, a1), (a, a2), (b, b1)):
        assert (await seals.grant(e, sid, p)).status == 201
    assert (await seals.grant(a, a3, stranger)).status == 201
    r = await seals.call("GET", "/api/v1/my/enterprises", p.token)
    assert r.status == 200
    got = {x["enterprise_id"]: x for x in r.json["items"]}
    assert set(got) == {str(a.id), str(b.id)}
    assert got[str(a.id)]["name"] == a.info.name and got[str(a.id)]["seal_count"] == 2
    assert got[str(b.id)]["seal_count"] == 1
    seals_a = await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals", p.token)
    assert {s["seal_id"] for s in seals_a.json["items"]} == {a1, a2}
    assert all(s["usable"] and s["grant"]["status"] == "active" for s in seals_a.json["items"])
    seals_b = await seals.call("GET", f"/api/v1/my/enterprises/{b.id}/seals", p.token)
    assert {s["seal_id"] for s in seals_b.json["items"]} == {b1}
    detail = await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals/{a1}", p.token)
    assert detail.status == 200 and detail.json["enterprise_name"] == a.info.name
    assert detail.json["type"] == "contract" and detail.json["type_label"] == "合同专用章"
    img = await seals.call("GET", detail.json["image_url"], p.token)
    assert img.status == 200 and img.content_type == "image/png"
    # another enterprise's path, a seal not granted, a stranger: nothing
    assert (await seals.call("GET", f"/api/v1/my/enterprises/{b.id}/seals/{a1}", p.token)).status == 404
    assert (await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals/{a3}", p.token)).status == 404
    assert (await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals/{a3}/image", p.token)).status == 404
    r = await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals/{a1}", stranger.token)
    assert r.status == 404
    theirs = await seals.call("GET", f"/api/v1/my/enterprises/{a.id}/seals", stranger.token)
    assert {s["seal_id"] for s in theirs.json["items"]} == {a3}
    choices = await seals.internal("GET", f"/internal/persons/{p.person_id}/choices")
    by_enterprise = {c["enterprise_id"]: {s["seal_id"] for s in c["seals"]} for c in choices.json["items"]}
    assert by_enterprise == {str(a.id): {a1, a2}, str(b.id): {b1}}
    assert "seals" not in choices.json

    # stamping's one round trip: the choices and the named seals' details (a seal the person
    # may not use is still described: the caller decides; an unknown one is null)
    unknown = "00000000-0000-4000-8000-000000000000"
    path = f"/internal/persons/{p.person_id}/choices?seal_id={a1}&seal_id={a3}&seal_id={unknown}"
    both = await seals.internal("GET", path)
    assert both.status == 200 and both.json["items"] == choices.json["items"], both
    assert set(both.json["seals"]) == {a1, a3, unknown} and both.json["seals"][unknown] is None
    single = await seals.internal("GET", f"/internal/seals/{a1}")
    assert both.json["seals"][a1] == single.json
    assert both.json["seals"][a3]["enterprise_name"] == a.info.name
    bad = await seals.internal("GET", f"/internal/persons/{p.person_id}/choices?seal_id=nope")
    assert bad.status == 422 and bad.json["code"] == "validation_failed", bad
    many = "&".join(f"seal_id={unknown}" for _ in range(21))
    too_many = await seals.internal("GET", f"/internal/persons/{p.person_id}/choices?{many}")
    assert too_many.status == 422, too_many


async def test_revoked_seals_and_deleted_or_ended_grants_disappear_at_once(seals: Seals) -> None:
    e = await seals.enterprise()
    p = await seals.person()
    s1 = (await seals.issue(e, "contract")).json["seal_id"]
    s2 = (await seals.issue(e, "finance")).json["seal_id"]
    s3 = (await seals.issue(e, "official")).json["seal_id"]
    g1 = (await seals.grant(e, s1, p)).json["grant_id"]
    await seals.grant(e, s2, p)
    g3 = (await seals.grant(e, s3, p)).json["grant_id"]

    async def visible() -> set[str]:
        r = await seals.call("GET", f"/api/v1/my/enterprises/{e.id}/seals", p.token)
        return {s["seal_id"] for s in r.json["items"]}

    assert await visible() == {s1, s2, s3}
    await seals.revoke(e, s2)
    assert await visible() == {s1, s3}
    await seals.call("DELETE", f"/api/v1/seals/{s1}/grants/{g1}", e.token)
    assert await visible() == {s3}
    await seals.call("PATCH", f"/api/v1/seals/{s3}/grants/{g3}", e.token,
                     json={"valid_from": (TODAY - timedelta(days=5)).isoformat(),
                           "valid_to": (TODAY - timedelta(days=1)).isoformat()})
    assert await visible() == set()
    assert (await seals.call("GET", "/api/v1/my/enterprises", p.token)).json["items"] == []
    for sid in (s1, s2, s3):
        r = await seals.call("GET", f"/api/v1/my/enterprises/{e.id}/seals/{sid}", p.token)
        assert r.status == 404


async def test_grants_list_is_paginated(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    made = set()
    for _ in range(5):
        made.add((await seals.grant(e, seal_id, await seals.person())).json["grant_id"])
    seen, cursor = [], None
    while True:
        r = await seals.call("GET", f"/api/v1/seals/{seal_id}/grants?limit=2"
                             + (f"&cursor={cursor}" if cursor else ""), e.token)
        seen += [g["grant_id"] for g in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and set(seen) == made


async def test_unknown_grants_are_404(seals: Seals) -> None:
    e = await seals.enterprise()
    s1 = (await seals.issue(e, "contract")).json["seal_id"]
    s2 = (await seals.issue(e, "finance")).json["seal_id"]
    g = (await seals.grant(e, s1, await seals.person())).json["grant_id"]
    # a grant addressed through another seal of the same enterprise
    r = await seals.call("DELETE", f"/api/v1/seals/{s2}/grants/{g}", e.token)
    assert r.status == 404 and r.json["code"] == "grant_not_found"
    r = await seals.call("PATCH", f"/api/v1/seals/{s1}/grants/{uuid.uuid4()}", e.token,
                         json={"valid_to": TODAY.isoformat()})
    assert r.status == 404
