"""The HTTP adapters read identity's and certs' answers as documented (and as built)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from seals.adapters.remote import CertsClient, IdentityClient

from shared.errors import ServiceUnavailable
from shared.internal import RemoteError


class StubClient:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, Any]] = []

    async def _answer(self, method: str, path: str, body: Any = None) -> Any:
        self.calls.append((method, path, body))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def get(self, path: str, **_: Any) -> Any:
        return await self._answer("GET", path)

    async def post(self, path: str, json: Any = None, **_: Any) -> Any:
        return await self._answer("POST", path, json)


def remote(status: int, code: str) -> RemoteError:
    err = RemoteError(code, code=code)
    err.status = status
    return err


async def test_enterprise_with_nested_legal_representative() -> None:
    eid = uuid.uuid4()
    stub = StubClient({f"/internal/principals/{eid}": {
        "id": str(eid), "role": "enterprise", "name": "某公司", "enterprise_name": "某公司",
        "enterprise_uscc": "91220101MA0Y3XXX7K", "legal_representative": {"name": "王五"}}})
    info = await IdentityClient(stub).enterprise(eid)  # type: ignore[arg-type]
    assert info is not None
    assert (info.name, info.uscc, info.legal_representative_name) == ("某公司", "91220101MA0Y3XXX7K", "王五")


async def test_agent_described_by_identity() -> None:
    aid, eid = uuid.uuid4(), uuid.uuid4()
    stub = StubClient({f"/internal/principals/{aid}": {
        "id": str(aid), "role": "agent", "enterprise_id": str(eid), "can_manage": True,
        "valid_from": "2030-01-01", "valid_to": "2030-12-31", "removed": False}})
    agent = await IdentityClient(stub).agent(aid)  # type: ignore[arg-type]
    assert agent is not None and agent.enterprise_id == eid and agent.can_manage
    assert (agent.valid_from, agent.valid_to) == (date(2030, 1, 1), date(2030, 12, 31))


async def test_unknown_principal_is_none_and_match_keeps_the_given_name() -> None:
    pid = uuid.uuid4()
    stub = StubClient({f"/internal/principals/{pid}": remote(404, "principal_not_found"),
                       "/internal/persons/match": {"person_id": str(pid)}})
    identity = IdentityClient(stub)  # type: ignore[arg-type]
    assert await identity.person_name(pid) is None
    assert await identity.agent(pid) is None
    matched = await identity.match("张三", "resident_id_card", "x")
    assert (matched.person_id, matched.name) == (pid, "张三")


async def test_our_own_credentials_failing_is_not_the_users_401() -> None:
    stub = StubClient({"/internal/face-tokens/consume": remote(401, "internal_auth_required")})
    with pytest.raises(ServiceUnavailable):
        await IdentityClient(stub).consume("t", uuid.uuid4(), "issue_seal")  # type: ignore[arg-type]


async def test_face_token_refusals_pass_through() -> None:
    stub = StubClient({"/internal/face-tokens/consume": remote(409, "face_token_used")})
    with pytest.raises(RemoteError) as err:
        await IdentityClient(stub).consume("t", uuid.uuid4(), "issue_seal")  # type: ignore[arg-type]
    assert (err.value.status, err.value.code) == (409, "face_token_used")


async def test_certificate_status_and_idempotent_revocation() -> None:
    pid, sid = uuid.uuid4(), uuid.uuid4()
    stub = StubClient({f"/internal/principals/{pid}/certificate": {"status": "locked"},
                       f"/internal/seal-certificates/{sid}/revocation": remote(409, "certificate_revoked")})
    certs = CertsClient(stub)  # type: ignore[arg-type]
    assert await certs.certificate_status(pid) == "locked"
    await certs.revoke_seal_certificate(sid, "cessationOfOperation")  # already revoked: fine
    assert stub.calls[-1][2] == {"reason": "cessationOfOperation"}
    stub.answers[f"/internal/principals/{pid}/certificate"] = remote(404, "certificate_not_activated")
    assert await certs.certificate_status(pid) == "none"


async def test_esl_request_and_answer() -> None:
    import base64
    from datetime import UTC, datetime

    from seals.service_layer.ports import EslRequest

    sid, pid = uuid.uuid4(), uuid.uuid4()
    stub = StubClient({f"/internal/seal-certificates/{sid}/esl": {
        "seal_b64": base64.b64encode(b"DER").decode(), "signer_serial_numbers": ["1"],
        "unlisted_principal_ids": []}})
    der = await CertsClient(stub).make_esl(EslRequest(  # type: ignore[arg-type]
        seal_id=sid, name="某公司公章", seal_type=1, picture_png=b"\x89PNG", width_mm=42,
        height_mm=42, created_at=datetime(2026, 1, 2, tzinfo=UTC), signer_principal_ids=[pid]))
    assert der == b"DER"
    _, path, body = stub.calls[0]
    assert path.endswith("/esl")
    assert body["picture_png_b64"] == base64.b64encode(b"\x89PNG").decode()
    assert body["signer_principal_ids"] == [str(pid)] and body["seal_type"] == 1
    assert body["created_at"].startswith("2026-01-02T00:00:00")


async def test_esl_of_a_revoked_seal_keeps_certs_code() -> None:
    from datetime import UTC, datetime

    from seals.service_layer.ports import EslRequest

    sid = uuid.uuid4()
    stub = StubClient({f"/internal/seal-certificates/{sid}/esl": remote(409, "certificate_revoked")})
    with pytest.raises(RemoteError) as err:
        await CertsClient(stub).make_esl(EslRequest(  # type: ignore[arg-type]
            seal_id=sid, name="x", seal_type=1, picture_png=b"", width_mm=1, height_mm=1,
            created_at=datetime.now(UTC), signer_principal_ids=[]))
    assert err.value.code == "certificate_revoked"
