"""The gateway's route table: which service owns which public path.

Paths are matched by prefix, longest first. ``auth`` says what the gateway checks before
forwarding: ``public`` nothing; ``user`` a valid, unrevoked identity access token; ``any``
an identity token is checked when present, other credentials (relying systems' client
tokens, HTTP Basic) are left to the owning service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Auth = Literal["public", "user", "any"]


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    auth: Auth


API = "/api/v1"

ROUTES: tuple[Route, ...] = (
    # identity: registration, sessions, face checks, keys
    Route(f"{API}/persons", "identity", "public"),
    Route(f"{API}/enterprises", "identity", "public"),
    Route(f"{API}/sessions/refresh", "identity", "public"),
    Route(f"{API}/sessions/current", "identity", "user"),
    Route(f"{API}/sessions", "identity", "public"),
    Route(f"{API}/me", "identity", "user"),
    Route(f"{API}/face-checks", "identity", "any"),
    Route(f"{API}/sandbox/face-checks", "identity", "public"),
    Route(f"{API}/.well-known/jwks.json", "identity", "public"),
    # agents
    Route(f"{API}/agents", "agents", "user"),
    # certificates
    Route(f"{API}/agreements", "certs", "public"),
    Route(f"{API}/certificate", "certs", "user"),
    Route(f"{API}/ca/", "certs", "public"),
    Route(f"{API}/sandbox/sms", "certs", "public"),
    # seals, grants, personal signature
    Route(f"{API}/seal-types", "seals", "any"),
    Route(f"{API}/seals", "seals", "user"),
    Route(f"{API}/my/enterprises", "seals", "user"),
    Route(f"{API}/my/signature", "seals", "user"),
    # stamping
    Route(f"{API}/oauth/token", "stamping", "public"),
    Route(f"{API}/stamp-requests", "stamping", "any"),
    Route(f"{API}/scans", "stamping", "user"),
    Route(f"{API}/usage-records", "stamping", "user"),
    Route(f"{API}/verifications", "stamping", "public"),
    # messages and support
    Route(f"{API}/messages", "notify", "user"),
    Route(f"{API}/support", "notify", "public"),
)

_BY_LENGTH = sorted(ROUTES, key=lambda r: len(r.prefix), reverse=True)


def match(path: str) -> Route | None:
    for route in _BY_LENGTH:
        p = route.prefix
        if path == p.rstrip("/") or path.startswith(p if p.endswith("/") else p + "/") or path == p:
            return route
    return None
