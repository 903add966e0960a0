"""The state tables are a projection of the events: dropping and replaying gives them back."""

from __future__ import annotations

from datetime import timedelta

from seals.projections.state import STATE

from shared import STORE
from shared.china_time import today_in_china
from shared.projections import rebuild
from tests.support.harnesses.seals import Seals


async def _snapshot(seals: Seals) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    async with seals.pool.acquire() as conn:
        for table, key in (("seals", "seal_id"), ("grants", "grant_id"), ("signatures", "signature_id")):
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")
            out[table] = [tuple(r.values()) for r in rows]
    return out


async def test_rebuilding_the_state_projection_gives_the_same_tables(seals: Seals) -> None:
    e = await seals.enterprise()
    p = await seals.person()
    s1 = (await seals.issue(e, "contract")).json["seal_id"]
    s2 = (await seals.issue(e, "finance")).json["seal_id"]
    g1 = (await seals.grant(e, s1, p)).json["grant_id"]
    await seals.grant(e, s2, p)
    await seals.call("PATCH", f"/api/v1/seals/{s1}/grants/{g1}", e.token,
                     json={"valid_to": (today_in_china() + timedelta(days=2)).isoformat()})
    await seals.revoke(e, s2)
    await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    await seals.call("DELETE", "/api/v1/my/signature", p.token)
    await seals.call("POST", "/api/v1/my/signature", p.token, json={"method": "generated"})
    before = await _snapshot(seals)
    report = await rebuild(seals.pool, seals.app[STORE], STATE)
    assert report.events >= 9
    assert await _snapshot(seals) == before
    # the service still works on the rebuilt tables (unique indexes included)
    again = await seals.issue(e, "contract")
    assert again.status == 409 and again.json["code"] == "seal_type_taken"
