"""Access tokens for tests that run without identity.

``TestSigner`` mints ES256 access tokens with a locally generated key and serves the matching
JWKS (and an empty revocation list), for in-process tests that run a service and the gateway
against a fake identity. Tokens carry the claims identity puts in them (``shared.auth``).
Real registration and login: ``tests.support.identities``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from shared.auth import ALGORITHM, AUDIENCE, ISSUER, Principal, jwk_json

from .api import Api

# minted tokens (fake identity) ------------------------------------------------------------


class TestSigner:
    """A signing key and its JWKS, standing in for identity's."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = f"test-{uuid.uuid4().hex[:8]}"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_json(self.key.public_key(), self.kid)]}

    def token(self, principal: Principal, *, lifetime: int = 900) -> str:
        now = time.time()
        claims = {**principal.claims(), "typ": "access", "iss": ISSUER, "aud": AUDIENCE,
                  "iat": int(now), "iat_ms": int(now * 1000), "exp": int(now) + lifetime}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def person(self, person_id: uuid.UUID | None = None, name: str = "张三") -> tuple[Principal, str]:
        p = Principal(id=person_id or uuid.uuid4(), role="person", name=name,
                      session_id=uuid.uuid4().hex)
        return p, self.token(p)

    def enterprise(self, enterprise_id: uuid.UUID | None = None,
                   name: str = "长春市测试科技有限公司") -> tuple[Principal, str]:
        eid = enterprise_id or uuid.uuid4()
        p = Principal(id=eid, role="enterprise", name=name, enterprise_id=eid, enterprise_name=name,
                      session_id=uuid.uuid4().hex)
        return p, self.token(p)

    def agent(self, enterprise_id: uuid.UUID, agent_id: uuid.UUID | None = None, *,
              can_manage: bool = True, name: str = "李四") -> tuple[Principal, str]:
        p = Principal(id=agent_id or uuid.uuid4(), role="agent", name=name,
                      enterprise_id=enterprise_id, can_manage=can_manage,
                      session_id=uuid.uuid4().hex)
        return p, self.token(p)

    def identity_app(self) -> web.Application:
        """What the gateway and services ask identity for: keys and revocations."""
        app = web.Application()

        async def jwks(_: web.Request) -> web.Response:
            return web.json_response(self.jwks())

        async def revocations(_: web.Request) -> web.Response:
            return web.json_response({"items": []})

        app.router.add_get("/internal/jwks", jwks)
        app.router.add_get("/internal/revocations", revocations)
        return app


# real identity ---------------------------------------------------------------------------
# Registration and login through the gateway: see ``tests.support.identities``.


async def identity_ready(api: Api) -> bool:
    """Whether identity answers logins yet (it was built concurrently with its consumers)."""
    r = await api.post("/api/v1/sessions", json={})
    return r.status not in (404, 405, 501, 503)
