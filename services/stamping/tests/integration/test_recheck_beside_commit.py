"""The re-check after the timestamp runs beside the commit's writes: a seal revoked between
its signature and its timestamp still stamps nothing — no record, no event, no result, the
request free to be stamped again once the cause is gone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.harnesses.stamping import Harness


async def test_a_failed_recheck_rolls_back_the_commit_it_ran_beside(
        stamping: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal, person = h.enterprise_seal(), h.person("孙十二")
    h.seals.grant(person.id, seal.seal_id)
    created = await h.request_pdf(token)
    assert created.status == 201, created
    request_id = created.json["request_id"]
    assert (await h.scan(person, created.json["qr_payload"])).status == 200
    sign = h.seals.stamp_signature

    async def revoked_after_signing(*args: Any, **kw: Any) -> Any:
        # no token with the signature (the TSA asked apart, after the revocation)
        made = await sign(*args, **{**kw, "timestamp": False})
        await h.seals.revoke(seal.seal_id)
        return made

    monkeypatch.setattr(h.seals, "stamp_signature", revoked_after_signing)
    r = await h.stamp(person, request_id, seal)
    assert (r.status, r.json["code"]) == (409, "seal_revoked"), r
    assert "while stamping" in r.json["detail"], r
    rid = uuid.UUID(request_id)
    assert await h.sql("SELECT count(*) FROM usage_records WHERE request_id = $1", rid) == 0
    assert await h.sql("SELECT count(*) FROM stamp_results WHERE request_id = $1", rid) == 0
    assert await h.sql("SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'StampApplied'",
                       request_id) == 0
    assert await h.sql("SELECT claim_id FROM stamp_requests WHERE request_id = $1", rid) is None
    status = await h.call("GET", f"/api/v1/stamp-requests/{request_id}", token=token)
    assert status.json["status"] != "stamped", status


async def test_seals_is_asked_twice_per_stamp_the_first_time_while_the_request_is_claimed(
        stamping: Harness) -> None:
    h = stamping
    _client, token = await h.new_client()
    seal, person = h.enterprise_seal(), h.person("周十三")
    h.seals.grant(person.id, seal.seal_id)
    created = await h.request_pdf(token)
    request_id = created.json["request_id"]
    # not scanned: the claim refuses it; the question already put to seals is dropped
    r = await h.stamp(person, request_id, seal)
    assert (r.status, r.json["code"]) == (403, "scan_required"), r
    assert (await h.scan(person, created.json["qr_payload"])).status == 200
    before = h.seals.lookups
    r = await h.stamp(person, request_id, seal)
    assert r.status == 201, r
    assert h.seals.lookups - before == 2  # the pre-check (asked with the claim) and the re-check
