"""The authorization matrix, decided from seals' own data at request time."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from shared.china_time import today_in_china
from shared.internal import internal_token
from tests.support.harnesses.seals import Enterprise, Seals


async def _seal_with_grant(seals: Seals, e: Enterprise) -> tuple[str, str]:
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    p = await seals.person()
    grant_id = (await seals.grant(e, seal_id, p)).json["grant_id"]
    return seal_id, grant_id


async def test_agent_with_permission_maintains_seals_with_its_own_face_check(seals: Seals) -> None:
    e = await seals.enterprise()
    agent_id, token = await seals.agent(e, can_manage=True)
    r = await seals.issue(e, "finance", token=token, subject=agent_id)
    assert r.status == 201, r
    seal_id = r.json["seal_id"]
    assert seals.face.consumed[-1] == (agent_id, "issue_seal")
    events = await seals.events_of(seal_id)
    assert events[0][1]["issued_by"] == str(agent_id)
    # the enterprise's face token is not the agent's
    r = await seals.revoke(e, seal_id, token=token, subject=e.id)
    assert r.status == 403 and r.json["code"] == "face_token_mismatch"
    assert (await seals.revoke(e, seal_id, token=token, subject=agent_id)).status == 200


async def test_agent_without_permission_may_only_look(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id, grant_id = await _seal_with_grant(seals, e)
    agent_id, token = await seals.agent(e, can_manage=False)
    for path in ("/api/v1/seals", f"/api/v1/seals/{seal_id}", f"/api/v1/seals/{seal_id}/image",
                 f"/api/v1/seals/{seal_id}/grants", f"/api/v1/seals/{seal_id}/grants/{grant_id}"):
        assert (await seals.call("GET", path, token)).status == 200, path
    assert (await seals.call("POST", "/api/v1/seals/preview", token, json={"type": "hr"})).status == 200
    p = await seals.person()
    changes = [
        await seals.issue(e, "hr", token=token, subject=agent_id),
        await seals.revoke(e, seal_id, token=token, subject=agent_id),
        await seals.grant(e, seal_id, p, token=token),
        await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{grant_id}", token,
                         json={"valid_to": today_in_china().isoformat()}),
        await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{grant_id}", token),
    ]
    for r in changes:
        assert r.status == 403 and r.json["code"] == "management_permission_required", r
    assert not any(s == agent_id for s, _ in seals.face.consumed)


async def test_projection_wins_over_a_stale_token_claim(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    # the token still says "manager", but the enterprise has since taken the permission away
    agent_id, token = await seals.agent(e, can_manage=True)
    today = today_in_china()
    await seals.update_agent(e, agent_id, can_manage=False, valid_from=today - timedelta(days=1),
                             valid_to=today + timedelta(days=5))
    r = await seals.revoke(e, seal_id, token=token, subject=agent_id)
    assert r.status == 403 and r.json["code"] == "management_permission_required"
    # and the other way round: granted since the token was issued
    agent2, token2 = await seals.agent(e, can_manage=False)
    await seals.update_agent(e, agent2, can_manage=True, valid_from=today - timedelta(days=1),
                             valid_to=today + timedelta(days=5))
    assert (await seals.revoke(e, seal_id, token=token2, subject=agent2)).status == 200


async def test_removed_or_expired_agents_are_refused_even_with_a_live_token(seals: Seals) -> None:
    e = await seals.enterprise()
    removed, removed_token = await seals.agent(e)
    await seals.remove_agent(e, removed)
    today = today_in_china()
    _, expired_token = await seals.agent(e, valid_from=today - timedelta(days=30),
                                         valid_to=today - timedelta(days=1))
    _, future_token = await seals.agent(e, valid_from=today + timedelta(days=1),
                                        valid_to=today + timedelta(days=30))
    for token in (removed_token, expired_token, future_token):
        r = await seals.call("GET", "/api/v1/seals", token)
        assert r.status == 403 and r.json["code"] == "agent_not_valid", r
        r = await seals.issue(e, "contract", token=token)
        assert r.status == 403 and r.json["code"] == "agent_not_valid", r


async def test_removal_delivered_before_addition_still_removes(seals: Seals) -> None:
    e = await seals.enterprise()
    agent_id = uuid.uuid4()
    from shared.catalog import AgentAdded, AgentRemoved

    await seals.deliver(AgentRemoved(agent_id=agent_id, enterprise_id=e.id, removed_by=e.id), agent_id, 2)
    today = today_in_china()
    await seals.deliver(AgentAdded(agent_id=agent_id, enterprise_id=e.id, name="赵六",
                                   valid_from=today, valid_to=today + timedelta(days=9),
                                   can_manage=True, added_by=e.id), agent_id, 1)
    _, token = seals.signer.agent(e.id, agent_id, can_manage=True)
    r = await seals.call("GET", "/api/v1/seals", token)
    assert r.status == 403 and r.json["code"] == "agent_not_valid"


async def test_agent_not_yet_in_the_directory_is_described_by_identity(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    manager, manager_token = await seals.agent(e, known=False, can_manage=True)
    viewer, viewer_token = await seals.agent(e, known=False, can_manage=False, token_can_manage=True)
    assert (await seals.issue(e, "finance", token=manager_token, subject=manager)).status == 201
    r = await seals.revoke(e, seal_id, token=viewer_token, subject=viewer)
    assert r.status == 403 and r.json["code"] == "management_permission_required"
    async with seals.pool.acquire() as conn:  # identity's answer is not stored
        assert await conn.fetchval("SELECT count(*) FROM agents WHERE agent_id = $1", manager) == 0


async def test_agent_unknown_everywhere_may_read_but_not_change(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    agent_id, token = await seals.agent(e, known=False, identity_knows=False)
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}", token)).status == 200
    started = time.monotonic()
    r = await seals.issue(e, "finance", token=token, subject=agent_id)
    assert r.status == 503 and r.json["code"] == "agent_not_synchronized"
    assert time.monotonic() - started >= seals.settings.agent_sync_wait
    assert not any(s == agent_id for s, _ in seals.face.consumed)


async def test_a_change_waits_for_a_new_agent_to_reach_the_directory(seals: Seals) -> None:
    import asyncio

    from shared.catalog import AgentAdded

    e = await seals.enterprise()
    agent_id, token = await seals.agent(e, known=False, identity_knows=False)
    today = today_in_china()

    async def arrives_later() -> None:
        await asyncio.sleep(0.2)
        await seals.deliver(AgentAdded(agent_id=agent_id, enterprise_id=e.id, name="钱七",
                                       valid_from=today, valid_to=today + timedelta(days=9),
                                       can_manage=True, added_by=e.id), agent_id)

    r, _ = await asyncio.gather(seals.issue(e, "finance", token=token, subject=agent_id), arrives_later())
    assert r.status == 201, r


async def test_another_enterprises_agent_gets_404_on_everything(seals: Seals) -> None:
    a, b = await seals.enterprise(), await seals.enterprise()
    seal_id, grant_id = await _seal_with_grant(seals, b)
    agent_id, token = await seals.agent(a, can_manage=True)
    p = await seals.person()
    replies = [
        await seals.call("GET", f"/api/v1/seals/{seal_id}", token),
        await seals.call("GET", f"/api/v1/seals/{seal_id}/image", token),
        await seals.call("GET", f"/api/v1/seals/{seal_id}/grants", token),
        await seals.call("GET", f"/api/v1/seals/{seal_id}/grants/{grant_id}", token),
        await seals.revoke(b, seal_id, token=token, subject=agent_id),
        await seals.grant(b, seal_id, p, token=token),
        await seals.call("PATCH", f"/api/v1/seals/{seal_id}/grants/{grant_id}", token,
                         json={"valid_to": today_in_china().isoformat()}),
        await seals.call("DELETE", f"/api/v1/seals/{seal_id}/grants/{grant_id}", token),
        await seals.call("GET", f"/api/v1/seals/{seal_id}", a.token),
    ]
    for r in replies:
        assert r.status == 404, r
    listed = await seals.call("GET", "/api/v1/seals", token)
    assert listed.json["items"] == []
    assert (await seals.call("GET", f"/api/v1/seals/{seal_id}", b.token)).json["status"] == "active"


async def test_roles_are_kept_to_their_side(seals: Seals) -> None:
    e = await seals.enterprise()
    p = await seals.person()
    for path in ("/api/v1/seals", f"/api/v1/seals/{uuid.uuid4()}"):
        r = await seals.call("GET", path, p.token)
        assert r.status == 403 and r.json["code"] == "role_not_allowed"
    for path in ("/api/v1/my/enterprises", "/api/v1/my/signature"):
        r = await seals.call("GET", path, e.token)
        assert r.status == 403 and r.json["code"] == "role_not_allowed"
    assert (await seals.call("GET", "/api/v1/seals")).status == 401
    r = await seals.call("GET", "/api/v1/seals", "not-a-token")
    assert r.status == 401


async def test_internal_endpoints_need_service_credentials(seals: Seals) -> None:
    e = await seals.enterprise()
    seal_id = (await seals.issue(e, "contract")).json["seal_id"]
    for path in (f"/internal/seals/{seal_id}", f"/internal/persons/{uuid.uuid4()}/choices",
                 f"/internal/enterprises/{e.id}/seals"):
        r = await seals.call("GET", path, e.token)
        assert r.status == 401 and r.json["code"] == "internal_auth_required"
        # the public listener does not serve them, even to a caller with service credentials
        token = internal_token(seals.settings.internal_secret.get_secret_value(), "stamping", "seals")
        hidden = await seals.call("GET", path, headers={"Authorization": f"Internal {token}"},
                                  public=True)
        assert hidden.status == 404 and hidden.json["code"] == "not_found", hidden
    r = await seals.call("POST", f"/internal/seals/{seal_id}/stamp-signatures", e.token,
                         json={"person_id": str(uuid.uuid4()), "enterprise_id": str(e.id),
                               "digest_b64": "AA=="})
    assert r.status == 401
