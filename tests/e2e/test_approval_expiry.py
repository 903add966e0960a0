"""用印审批: an approval nobody decides ends on its own (``ESEAL_APPROVAL_TTL_SECONDS``; here
4 s on a platform of this module's own): ``ApprovalRejected`` with cause ``expired``, the
relying system's callback ``stamp_request.rejected``, the person told, and a late approval
refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import Platform, start_platform
from tests.e2e.test_approvals import approve, kinds, new_world, request_status
from tests.support.api import Api
from tests.support.oidc_provider import OidcProvider
from tests.support.otlp import OtlpReceiver
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(trace_receiver: OtlpReceiver, oidc_provider: OidcProvider) -> Iterator[Platform]:
    with start_platform(trace_receiver, oidc_provider, replicas=1,
                        extra_env=lambda _: {"ESEAL_APPROVAL_TTL_SECONDS": "4"}) as started:
        yield started


@pytest_asyncio.fixture(scope="module")
async def api(platform: Platform) -> AsyncIterator[Api]:
    client = Api(platform.gateway_url)
    yield client
    await client.close()


async def test_an_undecided_approval_expires(api: Api, platform: Platform) -> None:
    w = await new_world(api, platform)
    waiting = await w.waiting(api)
    approval_id = waiting["approval_id"]

    async def ended() -> dict[str, Any] | None:
        a = await api.get(f"/api/v1/approvals/{approval_id}", token=w.person.token)
        return dict(a.json) if a.json["status"] != "pending" else None

    done = await eventually(ended, 30, every=0.5, what="the approval expired")
    assert done["status"] == "rejected" and done["cause"] == "expired", done
    status = await request_status(api, w, waiting["request_id"])
    assert status["status"] == "rejected" and status["record_id"] is None, status
    assert [c["event"] for c in status["callbacks"]] == ["stamp_request.rejected"], status
    late = await approve(api, w.manager, approval_id)
    assert late.status == 409 and late.json["code"] == "approval_not_pending", late
    listed = await api.get("/api/v1/approvals", token=w.manager.token)
    assert [i for i in listed.json["items"] if i["approval_id"] == approval_id] == []
    await eventually(lambda: _rejected_message(api, w.person.token), 20, what="the person's message")


async def _rejected_message(api: Api, token: str) -> bool:
    return "approval_rejected" in await kinds(api, token)
