"""Authorization matrix, generated from the OpenAPI document (not hand-listed).

For every operation that declares ``security``, the gateway is called as each kind of
unwelcome caller:

* ``none``      no credentials                       → 401
* ``garbage``   a token that is not a token          → 401
* ``revoked``   a session that logged out            → 401 ``token_revoked``
* ``expired``   signed by identity's own key, expired → 401 ``token_expired``
* ``other_role``   a valid token of a role the operation is not for → 401/403/404
* ``other_enterprise`` a valid token of the right role, on another enterprise's (or
  relying system's) objects in the path → 403/404

and never 2xx, never 5xx. Then the revoked and the expired token are sent straight to the
owning service's public port, bypassing the gateway: the service refuses them itself.

Roles are not in the document; they follow from the path (see ``ROLE_BY_PREFIX``): an
operation not listed there accepts every user role, so it gets no ``other_role`` case
except a relying system's token (and, for relying-system operations, a person's token).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from gateway.routes import match

from tests.conftest import Platform
from tests.support.polling import eventually

from .conftest import World

pytestmark = pytest.mark.e2e

OPENAPI = Path(__file__).resolve().parents[2] / "services" / "gateway" / "gateway" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
# Operations meant for one kind of user; the rest accept persons, enterprises and agents.
ROLE_BY_PREFIX = (
    ("/api/v1/my/", "person"),
    ("/api/v1/scans", "person"),
    ("/api/v1/stamp-requests/{request_id}/stamp", "person"),
    ("/api/v1/agents", "enterprise"),
    # The GB/T 38540 seal data is for the enterprise and for the persons it granted the seal:
    # any user role (a relying system's token is still the other role).
    ("/api/v1/seals/{seal_id}/esl", "user"),
    ("/api/v1/seals", "enterprise"),
)
GARBAGE = "Bearer not.a.token"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    schemes: frozenset[str]  # security schemes accepted
    anonymous: bool  # an empty security requirement: callers may also come without credentials

    @property
    def role(self) -> str:
        if "clientBearer" in self.schemes:
            return "client"
        for prefix, role in ROLE_BY_PREFIX:
            if self.path.startswith(prefix):
                return role
        return "user"

    @property
    def has_ids(self) -> bool:
        return "{" in self.path

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations() -> list[Operation]:
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    ops = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op or not op.get("security"):
                continue
            schemes = frozenset(k for req in op["security"] for k in req)
            if schemes <= {"clientBasic"}:
                continue  # /oauth/token: client credentials, see test_bounds' brute force
            ops.append(Operation(method, path, schemes, any(not req for req in op["security"])))
    return ops


OPERATIONS = operations()
CASES = ("none", "garbage", "revoked", "expired", "other_role", "other_enterprise")


def matrix() -> Iterator[Any]:
    for op in OPERATIONS:
        for case in CASES:
            if case in ("none", "garbage") and op.anonymous:
                continue
            if case == "other_enterprise" and not op.has_ids:
                continue
            yield pytest.param(op, case, id=f"{op} [{case}]")


def own_ids(w: World) -> dict[str, str]:
    """Path values of the caller's own objects: only the credential is wrong."""
    return {
        "seal_id": w.seal_a["seal_id"],
        "grant_id": w.grant_a["grant_id"],
        "agent_id": w.agent_b["agent_id"],
        "enterprise_id": w.ent_a.id,
        "request_id": w.other_request_id,
        "message_id": str(uuid.uuid4()),
    }


def foreign_ids(w: World) -> dict[str, str]:
    """Path values of objects that belong to someone else (enterprise B, another client)."""
    return {
        "seal_id": w.seal_b["seal_id"],
        "grant_id": w.grant_b["grant_id"],
        "agent_id": w.agent_b["agent_id"],
        "enterprise_id": w.ent_b.id,
        "request_id": w.other_request_id,
        "message_id": str(uuid.uuid4()),
    }


def random_ids() -> dict[str, str]:
    return {
        k: str(uuid.uuid4())
        for k in ("seal_id", "grant_id", "agent_id", "enterprise_id", "request_id", "message_id")
    }


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


def tokens_for(op: Operation, w: World, case: str) -> str | None:
    """The Authorization header of the case (``None``: send none)."""
    role = op.role
    revoked = w.revoked_person if role == "person" else w.revoked_ent_a
    expired = w.expired_person if role == "person" else w.expired_ent_a
    own = {
        "person": w.person.token,
        "enterprise": w.ent_a.token,
        "user": w.ent_a.token,
        "client": w.client.token,
    }[role]
    other = {
        "person": w.ent_a.token,
        "enterprise": w.person.token,
        "user": w.client.token,
        "client": w.person.token,
    }[role]
    token = {
        "none": None,
        "garbage": GARBAGE.removeprefix("Bearer "),
        "revoked": revoked,
        "expired": expired,
        "other_role": other,
        "other_enterprise": own,
    }[case]
    return None if token is None else f"Bearer {token}"


@dataclass
class Answer:
    status: int
    code: str | None
    body: bytes

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.code!r}, {self.body[:200]!r})"


_session: aiohttp.ClientSession | None = None


async def call(base: str, method: str, path: str, authorization: str | None) -> Answer:
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
    headers = {"Authorization": authorization} if authorization else {}
    kwargs: dict[str, Any] = {"json": {}} if method != "get" and method != "delete" else {}
    async with _session.request(method.upper(), base + path, headers=headers, **kwargs) as r:
        if r.content_type == "text/event-stream":
            return Answer(r.status, None, b"<event stream>")  # it never ends by itself
        body = await r.read()
        code = None
        if r.content_type in ("application/json", "application/problem+json"):
            try:
                parsed = json.loads(body or b"null")
            except ValueError:
                parsed = None
            code = parsed.get("code") if isinstance(parsed, dict) else None
        return Answer(r.status, code, body)


@pytest_asyncio.fixture(scope="module", autouse=True)
async def close_session() -> Any:
    yield
    if _session is not None:
        await _session.close()


# identity already answered a logged-out session with ``session_ended``; kept (contract).
REVOKED_CODES = ("token_revoked", "session_ended")


def expected(op: Operation, case: str) -> tuple[set[int], tuple[str, ...] | None]:
    """Allowed statuses and the required problem code (if any)."""
    if case in ("none", "garbage"):
        return {401}, None
    if case in ("revoked", "expired"):
        if op.role == "client":  # a user's token where a relying system's is needed
            return {401, 403}, None
        return {401}, REVOKED_CODES if case == "revoked" else ("token_expired",)
    statuses = {401, 403, 404}
    if op.method != "get":
        statuses |= {400, 409, 422}  # the empty body may be refused first; still nothing done
    return statuses, None


@pytest.mark.parametrize(("op", "case"), list(matrix()))
async def test_gateway_refuses(platform: Platform, world: World, op: Operation, case: str) -> None:
    values = foreign_ids(world) if case == "other_enterprise" else own_ids(world)
    if case in ("other_role",) and op.method != "get":
        values = foreign_ids(world)  # were it wrongly allowed, it must not harm the suite's own objects
    answer = await call(platform.gateway_url, op.method, fill(op.path, values), tokens_for(op, world, case))
    statuses, code = expected(op, case)
    if case == "other_enterprise" and op.method == "get" and answer.status == 200:
        # A listing filtered to what the caller may see is not a disclosure when it is empty.
        assert json.loads(answer.body).get("items") == [], f"{op} as {case}: {answer}"
        return
    assert answer.status in statuses, f"{op} as {case}: {answer}"
    if code is not None:
        assert answer.code in code, f"{op} as {case}: {answer}"


# straight to the services ------------------------------------------------------------------

# Operations open to anonymous callers too are left out: a stale token there may be ignored.
USER_OPS = [op for op in OPERATIONS if op.role != "client" and not op.anonymous]
CANARY = {
    "identity": "/api/v1/me",
    "agents": "/api/v1/agents",
    "certs": "/api/v1/certificate",
    "seals": "/api/v1/seals",
    "stamping": "/api/v1/usage-records",
    "notify": "/api/v1/messages",
}


@pytest_asyncio.fixture(scope="module")
async def services_had_time(platform: Platform, world: World) -> None:
    """Services learn of the logout from identity's events: give each one a few seconds."""

    async def settled(service: str) -> None:
        async def refused() -> bool:
            a = await call(platform.url(service), "get", CANARY[service], f"Bearer {world.revoked_ent_a}")
            return a.status == 401

        try:
            await eventually(refused, within=8, every=0.3, what=f"{service} refusing the revoked token")
        except AssertionError:
            pass  # the per-operation tests below say which operations it still serves

    await asyncio.gather(*(settled(s) for s in CANARY))


@pytest.mark.parametrize("kind", ["revoked", "expired"])
@pytest.mark.parametrize("op", USER_OPS, ids=[str(op) for op in USER_OPS])
async def test_service_refuses_directly(
    platform: Platform, world: World, services_had_time: None, op: Operation, kind: str
) -> None:
    route = match(fill(op.path, random_ids()))
    assert route is not None, op
    # Reads use the account's own objects (a hole would answer 200); writes random ids, so a
    # hole does not destroy the suite's objects (it then answers 404/422 instead of 401).
    values = own_ids(world) if op.method == "get" else random_ids()
    token = tokens_for(op, world, kind)
    answer = await call(platform.url(route.service), op.method, fill(op.path, values), token)
    assert answer.status == 401, f"{route.service} served {op} to a {kind} token: {answer}"
    assert answer.code in (REVOKED_CODES if kind == "revoked" else ("token_expired",)), answer
