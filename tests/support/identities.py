"""Valid (and deliberately broken) identity elements for tests: every call is unique.

* ``id_number()`` — an 18-character resident ID card number with a correct GB 11643 check
  character, a real province-level region code and a plausible birth date.
* ``uscc()`` — a unified social credit code with a correct GB 32100 check character.
* ``phone()`` — a mainland mobile number ``1[3-9]xxxxxxxxx``.
* ``person_name()`` / ``enterprise_name()`` — names the validators accept.
* ``password()`` — a password of the manual's rule (8–16 chars, ≥ 2 kinds).
* ``person(...)`` / ``enterprise(...)`` — registration bodies for ``POST /api/v1/persons``
  and ``/enterprises``; ``register_person`` / ``register_enterprise`` / ``login`` do the calls.

Numbers are drawn from a per-process counter mixed with randomness, so parallel test runs
on one machine (each on its own databases) and repeated calls never collide.
"""

from __future__ import annotations

import itertools
import random
import secrets
from datetime import date, timedelta
from typing import Any

from shared.china_time import today_in_china

__all__ = [
    "add_agent", "agent", "enterprise", "enterprise_name", "face_token", "id_number", "login",
    "password", "person", "person_name",
    "phone", "register_enterprise", "register_person", "uscc", "verify_enterprise",
    "with_wrong_check_char",
]

# The standards' constants, written out again here on purpose: test data must not inherit
# a mistake of the code under test.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_counter = itertools.count(random.randrange(1_000_000))
_REGIONS = ("110101", "220102", "220203", "310104", "440305", "510107", "650102", "370202")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def _id_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_number(*, born: date | None = None, region: str | None = None) -> str:
    """A valid resident ID card number (unique per call)."""
    n = next(_counter)
    born = born or date(1960, 1, 1) + timedelta(days=(n * 7919 + random.randrange(9000)) % 16000)
    first17 = f"{region or random.choice(_REGIONS)}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + _id_check(first17)


def uscc() -> str:
    """A valid unified social credit code (unique per call)."""
    n = next(_counter)
    body = "91" + random.choice(_REGIONS) + "".join(random.choice(USCC_CHARSET) for _ in range(3)) \
        + f"{n % 1_000_000:06d}"
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_CHARSET[(31 - total % 31) % 31]


def with_wrong_check_char(number: str, alphabet: str = "0123456789X") -> str:
    """The same number with another (wrong) last character."""
    return number[:-1] + next(c for c in alphabet if c != number[-1])


def phone() -> str:
    n = next(_counter)
    return f"1{random.choice('3456789')}{random.randrange(10)}{(n * 7 + random.randrange(10**7)) % 10**8:08d}"


def person_name() -> str:
    return random.choice(_SURNAMES) + "".join(random.choice(_GIVEN) for _ in range(random.choice((1, 2))))


def enterprise_name() -> str:
    return f"吉林省{secrets.token_hex(3).upper()}科技有限公司"


def password() -> str:
    return "Pw" + secrets.token_hex(4) + "!"


def person(**overrides: Any) -> dict[str, Any]:
    body = {"name": person_name(), "id_type": "resident_id_card", "id_number": id_number(),
            "phone": phone(), "password": password()}
    body.update(overrides)
    return body


def enterprise(**overrides: Any) -> dict[str, Any]:
    body = {"name": enterprise_name(), "uscc": uscc(),
            "legal_representative": {"name": person_name(), "id_type": "resident_id_card",
                                     "id_number": id_number(), "phone": phone()},
            "password": password()}
    body.update(overrides)
    return body


async def register_person(api: Any, **overrides: Any) -> dict[str, Any]:
    """Register a person; returns the body sent plus ``person_id``."""
    body = person(**overrides)
    reply = await api.post("/api/v1/persons", json=body)
    assert reply.status == 201, reply
    return {**body, "person_id": reply.json["person_id"]}


async def register_enterprise(api: Any, *, verified: bool = True, **overrides: Any) -> dict[str, Any]:
    """Register an enterprise account; returns the body sent plus ``enterprise_id``.

    ``verified`` (the default): its legal representative then passes the sandbox face check
    (``verify_enterprise``), as the H5 client makes them do before the certificate; with
    ``verified=False`` the account stays ``pending_verification`` (certs refuses to activate
    its certificate)."""
    body = enterprise(**overrides)
    reply = await api.post("/api/v1/enterprises", json=body)
    assert reply.status == 201, reply
    registered = {**body, "enterprise_id": reply.json["enterprise_id"]}
    if verified:
        await verify_enterprise(api, registered)
    return registered


async def verify_enterprise(api: Any, registered: dict[str, Any]) -> None:
    """Log in as the enterprise, pass a sandbox face check (purpose ``enterprise_verification``)
    and verify the enterprise with its token (that session is left to expire: ending it
    would publish a SessionsRevoked the test did not ask for)."""
    session = await login(api, "enterprise", registered["uscc"], registered["password"])
    token = session["access_token"]
    reply = await api.post("/api/v1/enterprises/current/verification", token=token,
                           json={"face_token": await face_token(api, token, "enterprise_verification")})
    assert reply.status == 200 and reply.json["verification"] == "verified", reply


async def login(api: Any, role: str, username: str, password: str,
                enterprise_uscc: str | None = None) -> dict[str, Any]:
    """Password login; returns the session body (``access_token``, ``principal``, ...)."""
    body: dict[str, Any] = {"method": "password", "role": role, "username": username,
                            "password": password}
    if enterprise_uscc:
        body["enterprise_uscc"] = enterprise_uscc
    reply = await api.post("/api/v1/sessions", json=body)
    assert reply.status == 201, reply
    return dict(reply.json)


async def face_token(api: Any, access_token: str | None, purpose: str, *,
                     expires_in_seconds: int | None = None, **login: str) -> str:
    """A passed sandbox face check's single-use token.

    Authenticated (``access_token``) for ``add_agent`` / ``issue_seal`` / ``revoke_seal``;
    anonymous for ``login`` with ``role=..., username=..., enterprise_uscc=...``.
    ``expires_in_seconds`` asks the sandbox for a token that expires sooner (expiry tests).
    """
    started = await api.post("/api/v1/face-checks", json={"purpose": purpose, **login},
                             token=access_token)
    assert started.status == 201, started
    verdict = {"expires_in_seconds": expires_in_seconds} if expires_in_seconds else None
    passed = await api.post(f"/api/v1/sandbox/face-checks/{started.json['face_check_id']}/pass",
                            json=verdict)
    assert passed.status == 200, passed
    return str(passed.json["face_token"])


def agent(**overrides: Any) -> dict[str, Any]:
    """A body for ``POST /api/v1/agents`` (without ``face_token``): valid today, 10-year ID."""
    today = today_in_china()
    issued = today - timedelta(days=400)
    secret = password()
    body: dict[str, Any] = {
        "name": person_name(), "id_type": "resident_id_card", "id_number": id_number(),
        "id_valid_from": issued.isoformat(), "id_valid_to": _years_later(issued, 10).isoformat(),
        "id_long_term": False, "phone": phone(), "password": secret, "password_confirm": secret,
        "valid_from": (today - timedelta(days=1)).isoformat(),
        "valid_to": (today + timedelta(days=365)).isoformat(), "can_manage": True,
    }
    body.update(overrides)
    return body


def _years_later(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


async def add_agent(api: Any, enterprise_token: str, **overrides: Any) -> dict[str, Any]:
    """Add an agent as the enterprise account (face check included); returns the body sent
    merged with the 201 answer (``agent_id``, masked numbers, ``status``...)."""
    body = agent(**overrides)
    body["face_token"] = await face_token(api, enterprise_token, "add_agent")
    reply = await api.post("/api/v1/agents", json=body, token=enterprise_token)
    assert reply.status == 201, reply
    return {**body, **reply.json}
