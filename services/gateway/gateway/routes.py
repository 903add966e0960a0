"""The gateway's route table: which service owns which public path.

Paths are matched by prefix, longest first. ``auth`` says what the gateway checks before
forwarding: ``public`` nothing; ``user`` a valid, unrevoked identity access token; ``any``
an identity token is checked when present, other credentials (relying systems' client
tokens, HTTP Basic) are left to the owning service.

The table itself (``route_table.py``) is generated from the services' routes and their
``@documented`` facts by ``python -m gateway.routegen``: declare a route once, in its service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from .route_table import TABLE

Auth = Literal["public", "user", "any"]


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    auth: Auth


ROUTES: tuple[Route, ...] = tuple(
    Route(prefix, service, cast(Auth, auth)) for prefix, service, auth in TABLE)

_BY_LENGTH = sorted(ROUTES, key=lambda r: len(r.prefix), reverse=True)


def match(path: str) -> Route | None:
    for route in _BY_LENGTH:
        p = route.prefix
        if path == p.rstrip("/") or path.startswith(p if p.endswith("/") else p + "/") or path == p:
            return route
    return None
