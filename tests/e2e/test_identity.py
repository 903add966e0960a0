"""Registration, login (password and face), sessions and face checks, through the gateway."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest

from shared.china_time import today_in_china
from shared.internal import internal_token
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply

pytestmark = pytest.mark.e2e
DEV_INTERNAL_SECRET = "dev-only-internal-secret-change-me-in-production"


def is_problem(r: Reply, status: int, code: str) -> bool:
    return (
        r.status == status
        and r.headers["Content-Type"].startswith("application/problem+json")
        and r.json["code"] == code
    )


def fields(r: Reply) -> set[str]:
    return {e["field"] for e in r.json.get("errors", [])}


async def identity_db(platform: Platform) -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{platform.config.db_prefix}identity")


async def counts(platform: Platform) -> tuple[int, int]:
    conn = await identity_db(platform)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM accounts"),
            await conn.fetchval("SELECT count(*) FROM events"),
        )
    finally:
        await conn.close()


async def revoked_within(api: Api, token: str, seconds: float = 1.0, path: str = "/api/v1/agents") -> float:
    """Poll a path that only the gateway's revocation list guards (agents answers 403, not
    401, to any non-enterprise caller) until the token is refused; returns how long it took.
    identity's own endpoints refuse an ended session at once from its database."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        r = await api.get(path, token=token)
        if r.status == 401:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"token still accepted after {seconds}s")


# registration -------------------------------------------------------------------------


async def test_person_registers_and_logs_in_by_phone_or_id_number(api: Api) -> None:
    person = await ids.register_person(api)
    by_phone = await ids.login(api, "person", person["phone"], person["password"])
    by_id = await ids.login(api, "person", person["id_number"].lower(), person["password"])
    assert by_phone["principal"] == {"id": person["person_id"], "role": "person", "name": person["name"]}
    assert by_id["principal"]["id"] == person["person_id"]
    assert by_phone["token_type"] == "Bearer" and 600 <= by_phone["expires_in"] <= 900
    me = await api.get("/api/v1/me", token=by_phone["access_token"])
    assert me.status == 200, me
    assert me.json["phone_masked"] == "*******" + person["phone"][-4:]
    assert me.json["certificate_status"] == "none" and me.json["role"] == "person"


async def test_duplicate_registration_is_409_naming_the_field(api: Api) -> None:
    person = await ids.register_person(api)
    again = await api.post("/api/v1/persons", json=ids.person(id_number=person["id_number"]))
    assert is_problem(again, 409, "already_registered") and fields(again) == {"id_number"}
    same_phone = await api.post("/api/v1/persons", json=ids.person(phone=person["phone"]))
    assert is_problem(same_phone, 409, "already_registered") and fields(same_phone) == {"phone"}
    ent = await ids.register_enterprise(api)
    twice = await api.post("/api/v1/enterprises", json=ids.enterprise(uscc=ent["uscc"]))
    assert is_problem(twice, 409, "already_registered") and fields(twice) == {"uscc"}


async def test_concurrent_registrations_of_one_id_number_make_one_person(api: Api) -> None:
    number = ids.id_number()
    replies = await asyncio.gather(
        *(api.post("/api/v1/persons", json=ids.person(id_number=number)) for _ in range(4))
    )
    assert sorted(r.status for r in replies) == [201, 409, 409, 409]


async def test_enterprise_registers_and_logs_in_by_uscc(api: Api) -> None:
    ent = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", ent["uscc"].lower(), ent["password"])
    assert session["principal"] == {
        "id": ent["enterprise_id"],
        "role": "enterprise",
        "name": ent["name"],
        "enterprise_id": ent["enterprise_id"],
        "enterprise_name": ent["name"],
    }
    me = await api.get("/api/v1/me", token=session["access_token"])
    assert me.json["enterprise_uscc"] == ent["uscc"]
    assert me.json["phone_masked"].endswith(ent["legal_representative"]["phone"][-4:])


def _bad_person_bodies() -> list[Any]:
    n = ids.id_number()
    return [
        pytest.param(
            {"id_number": ids.with_wrong_check_char(n)},
            "id_number",
            "id_number_check_digit",
            id="id-check-digit",
        ),
        pytest.param({"id_number": n[:17]}, "id_number", "id_number_length", id="id-short"),
        pytest.param({"id_number": "99" + n[2:]}, "id_number", "id_number_region", id="id-region"),
        pytest.param(
            {"id_number": n[:6] + "21000101" + n[14:]},
            "id_number",
            "id_number_birth_date",
            id="id-born-future",
        ),
        pytest.param({"name": "张" * 31}, "name", "name_length", id="name-too-long"),
        pytest.param({"name": "Zhang San"}, "name", "name_format", id="name-latin"),
        pytest.param({"phone": "12800138000"}, "phone", "phone_format", id="phone"),
        pytest.param({"password": "abcdefgh"}, "password", "password_too_weak", id="password-one-kind"),
        pytest.param({"password": "a1b2c3"}, "password", "password_length", id="password-short"),
        pytest.param({"password": "a1b2c3d4e5f6g7h8i"}, "password", "password_length", id="password-long"),
        pytest.param(
            {"password_confirm": "Different1!"}, "password_confirm", "password_mismatch", id="mismatch"
        ),
        pytest.param({"nickname": "x"}, "nickname", "extra_forbidden", id="unknown-field"),
        pytest.param({"phone": 13800138000}, "phone", "string_type", id="phone-number-type"),
        pytest.param({"id_type": "passport"}, "id_type", "literal_error", id="id-type"),
    ]


@pytest.mark.parametrize(("change", "field", "code"), _bad_person_bodies())
async def test_bad_person_registration_names_the_field_and_writes_nothing(
    api: Api, platform: Platform, change: dict[str, Any], field: str, code: str
) -> None:
    before = await counts(platform)
    body = ids.person(**change)
    r = await api.post("/api/v1/persons", json=body)
    assert is_problem(r, 422, "validation_failed"), r
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in r.json["errors"]
    ]
    assert await counts(platform) == before


async def test_bad_enterprise_registration_names_nested_fields(api: Api, platform: Platform) -> None:
    before = await counts(platform)
    rep = {
        "name": "李四",
        "id_type": "resident_id_card",
        "id_number": ids.with_wrong_check_char(ids.id_number()),
        "phone": ids.phone(),
    }
    r = await api.post(
        "/api/v1/enterprises",
        json=ids.enterprise(
            uscc=ids.with_wrong_check_char(ids.uscc(), ids.USCC_CHARSET), legal_representative=rep
        ),
    )
    assert is_problem(r, 422, "validation_failed")
    assert fields(r) == {"uscc", "legal_representative.id_number"}
    assert [e["code"] for e in r.json["errors"] if e["field"] == "uscc"] == ["uscc_check_char"]
    assert await counts(platform) == before


async def test_malformed_bodies_are_4xx_problems(api: Api, platform: Platform) -> None:
    before = await counts(platform)
    huge = ids.person(name="张三", nickname="x" * 2_000_000)
    too_big = await api.post("/api/v1/persons", json=huge)
    assert is_problem(too_big, 413, "payload_too_large"), too_big
    not_json = await api.post("/api/v1/persons", data=b"{name:", headers={"Content-Type": "application/json"})
    assert is_problem(not_json, 400, "invalid_json")
    not_object = await api.post("/api/v1/persons", json=[1, 2])
    assert is_problem(not_object, 422, "validation_failed") and fields(not_object) == {"body"}
    form = await api.post("/api/v1/persons", data={"name": "x"})
    assert is_problem(form, 415, "unsupported_media_type")
    assert await counts(platform) == before


# tokens and sessions ------------------------------------------------------------------


async def test_access_token_is_es256_with_kid_in_the_jwks(api: Api) -> None:
    person = await ids.register_person(api)
    session = await ids.login(api, "person", person["phone"], person["password"])
    header = jwt.get_unverified_header(session["access_token"])
    assert header["alg"] == "ES256"
    jwks = await api.get("/api/v1/.well-known/jwks.json")
    key = next(k for k in jwks.json["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "EC" and key["crv"] == "P-256" and "d" not in key
    claims = jwt.decode(
        session["access_token"],
        jwt.PyJWK.from_dict(key).key,
        algorithms=["ES256"],
        audience="eseal",
        issuer="eseal-identity",
    )
    assert claims["sub"] == person["person_id"] and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900 and abs(claims["iat_ms"] / 1000 - time.time()) < 60
    assert uuid.UUID(claims["sid"])


async def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_sessions(api: Api) -> None:
    person = await ids.register_person(api)
    first = await ids.login(api, "person", person["phone"], person["password"])
    refreshed = await api.post("/api/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status == 201, refreshed
    assert refreshed.json["refresh_token"] != first["refresh_token"]
    assert (await api.get("/api/v1/me", token=refreshed.json["access_token"])).status == 200
    replay = await api.post("/api/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert is_problem(replay, 401, "invalid_refresh_token")
    # a copied refresh token means theft: every session of the person ends
    await revoked_within(api, refreshed.json["access_token"])
    newest = await api.post(
        "/api/v1/sessions/refresh", json={"refresh_token": refreshed.json["refresh_token"]}
    )
    assert is_problem(newest, 401, "invalid_refresh_token")
    assert (await api.post("/api/v1/sessions/refresh", json={"refresh_token": "nope"})).status == 401


async def test_logout_ends_this_session_only(api: Api) -> None:
    person = await ids.register_person(api)
    one = await ids.login(api, "person", person["phone"], person["password"])
    two = await ids.login(api, "person", person["phone"], person["password"])
    out = await api.delete("/api/v1/sessions/current", token=one["access_token"])
    assert out.status == 204
    assert (await api.get("/api/v1/me", token=one["access_token"])).status == 401
    await revoked_within(api, one["access_token"])
    assert is_problem(await api.get("/api/v1/agents", token=one["access_token"]), 401, "token_revoked")
    assert (await api.get("/api/v1/me", token=two["access_token"])).status == 200
    refresh = await api.post("/api/v1/sessions/refresh", json={"refresh_token": one["refresh_token"]})
    assert refresh.status == 401


async def test_no_token_or_a_forged_token_is_401(api: Api) -> None:
    assert is_problem(await api.get("/api/v1/me"), 401, "not_authenticated")
    forged = jwt.encode({"sub": str(uuid.uuid4()), "role": "person"}, "x" * 32, algorithm="HS256")
    assert (await api.get("/api/v1/me", token=forged)).status == 401


# lockout and rate limits --------------------------------------------------------------


async def test_five_wrong_passwords_lock_the_account_and_say_until_when(api: Api) -> None:
    person = await ids.register_person(api)
    attempt = {"method": "password", "role": "person", "username": person["phone"], "password": "Wrong123!"}
    lefts = []
    for _ in range(4):
        r = await api.post("/api/v1/sessions", json=attempt)
        assert is_problem(r, 401, "invalid_credentials")
        lefts.append(r.json["attempts_left"])
    assert lefts == [4, 3, 2, 1]
    fifth = await api.post("/api/v1/sessions", json=attempt)
    assert is_problem(fifth, 423, "account_locked"), fifth
    assert fifth.json["locked_until"].endswith("Z") and "锁定" in fifth.json["detail"]
    assert "locked until" in fifth.json["detail"]
    right = await api.post("/api/v1/sessions", json={**attempt, "password": person["password"]})
    assert is_problem(right, 423, "account_locked")


async def test_unknown_user_and_wrong_password_answer_alike(api: Api) -> None:
    unknown = await api.post(
        "/api/v1/sessions",
        json={"method": "password", "role": "person", "username": ids.phone(), "password": "Wrong123!"},
    )
    assert is_problem(unknown, 401, "invalid_credentials")


async def test_login_attempts_per_username_are_rate_limited(api: Api) -> None:
    ent = await ids.register_enterprise(api)
    attempt = {"method": "password", "role": "enterprise", "username": ent["uscc"], "password": "x"}
    statuses = [(await api.post("/api/v1/sessions", json=attempt)) for _ in range(11)]
    assert statuses[-1].status == 429, statuses[-1]
    assert is_problem(statuses[-1], 429, "too_many_attempts")
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60


async def test_failed_logins_per_client_ip_are_rate_limited(api: Api, platform: Platform) -> None:
    # Straight to identity with the header the gateway sets, so that this test's address
    # (not the loopback every other test shares) is the one that gets limited.
    headers = {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    url = platform.url("identity") + "/api/v1/sessions"
    replies = []
    for _ in range(51):
        body = {"method": "password", "role": "person", "username": ids.phone(), "password": "Wrong123!"}
        replies.append(await api.post(url, json=body, headers=headers))
    assert {r.status for r in replies[:50]} == {401}
    assert is_problem(replies[50], 429, "too_many_attempts") and int(replies[50].headers["Retry-After"]) >= 1


# face checks and face login -----------------------------------------------------------


async def test_face_login_and_single_use_token(api: Api) -> None:
    person = await ids.register_person(api)
    who = {"role": "person", "username": person["phone"]}
    token = await ids.face_token(api, None, "login", **who)
    login = {"method": "face", **who, "face_token": token}
    first = await api.post("/api/v1/sessions", json=login)
    assert first.status == 201 and first.json["principal"]["id"] == person["person_id"]
    again = await api.post("/api/v1/sessions", json=login)
    assert is_problem(again, 409, "face_token_used") and fields(again) == {"face_token"}


async def test_enterprise_face_login(api: Api) -> None:
    ent = await ids.register_enterprise(api)
    who = {"role": "enterprise", "username": ent["uscc"]}
    token = await ids.face_token(api, None, "login", **who)
    r = await api.post("/api/v1/sessions", json={"method": "face", **who, "face_token": token})
    assert r.status == 201 and r.json["principal"]["role"] == "enterprise"


async def test_face_token_of_another_subject_or_purpose_is_refused(api: Api) -> None:
    alice, bob = await ids.register_person(api), await ids.register_person(api)
    bobs = await ids.face_token(api, None, "login", role="person", username=bob["phone"])
    as_alice = await api.post(
        "/api/v1/sessions",
        json={"method": "face", "role": "person", "username": alice["phone"], "face_token": bobs},
    )
    assert is_problem(as_alice, 403, "face_token_mismatch")
    session = await ids.login(api, "person", alice["phone"], alice["password"])
    for_seal = await ids.face_token(api, session["access_token"], "issue_seal")
    as_login = await api.post(
        "/api/v1/sessions",
        json={"method": "face", "role": "person", "username": alice["phone"], "face_token": for_seal},
    )
    assert is_problem(as_login, 403, "face_token_mismatch")
    # the mismatch did not use Bob's token up: Bob can still log in with it
    ok = await api.post(
        "/api/v1/sessions",
        json={"method": "face", "role": "person", "username": bob["phone"], "face_token": bobs},
    )
    assert ok.status == 201


async def test_expired_face_token_is_410(api: Api) -> None:
    person = await ids.register_person(api)
    who = {"role": "person", "username": person["phone"]}
    token = await ids.face_token(api, None, "login", expires_in_seconds=1, **who)
    await asyncio.sleep(1.2)
    r = await api.post("/api/v1/sessions", json={"method": "face", **who, "face_token": token})
    assert is_problem(r, 410, "face_token_expired")


async def test_failed_face_check_gives_no_token_and_cannot_pass_later(api: Api) -> None:
    person = await ids.register_person(api)
    started = await api.post(
        "/api/v1/face-checks", json={"purpose": "login", "role": "person", "username": person["phone"]}
    )
    assert started.status == 201 and started.json["expires_at"].endswith("Z")
    check = started.json["face_check_id"]
    failed = await api.post(f"/api/v1/sandbox/face-checks/{check}/fail")
    assert failed.status == 200 and "face_token" not in failed.json
    assert is_problem(await api.post(f"/api/v1/sandbox/face-checks/{check}/pass"), 409, "face_check_finished")
    assert (await api.post(f"/api/v1/sandbox/face-checks/{uuid.uuid4()}/pass")).status == 404


async def test_anonymous_face_check_is_only_for_login(api: Api) -> None:
    r = await api.post("/api/v1/face-checks", json={"purpose": "add_agent"})
    assert is_problem(r, 422, "validation_failed") and fields(r) == {"purpose"}
    bad = await api.post("/api/v1/face-checks", json={"purpose": "selfie"})
    assert bad.status == 422 and fields(bad) == {"purpose"}


async def test_unknown_username_face_check_passes_but_logs_nobody_in(api: Api) -> None:
    who = {"role": "person", "username": ids.phone()}
    token = await ids.face_token(api, None, "login", **who)
    r = await api.post("/api/v1/sessions", json={"method": "face", **who, "face_token": token})
    assert is_problem(r, 401, "invalid_credentials")


# internal endpoints -------------------------------------------------------------------


def internal(audience: str = "identity") -> dict[str, str]:
    return {"Authorization": "Internal " + internal_token(DEV_INTERNAL_SECRET, "seals", audience)}


async def test_internal_endpoints_need_service_auth(api: Api, platform: Platform) -> None:
    base = platform.internal_url("identity")
    assert (await api.get(base + f"/internal/principals/{uuid.uuid4()}")).status == 401
    wrong_audience = await api.get(base + "/internal/revocations", headers=internal("certs"))
    assert wrong_audience.status == 401
    assert (await api.get(base + "/internal/revocations", headers=internal())).status == 200
    assert (await api.get(base + "/internal/jwks")).status == 200  # public keys only
    # and the gateway never routes /internal
    assert (await api.get("/internal/revocations")).status == 404


async def test_internal_principal_and_person_match(api: Api, platform: Platform) -> None:
    base = platform.internal_url("identity")
    person = await ids.register_person(api)
    got = await api.get(base + f"/internal/principals/{person['person_id']}", headers=internal())
    assert got.json["id_number"] == person["id_number"] and got.json["phone"] == person["phone"]
    ent = await ids.register_enterprise(api)
    e = await api.get(base + f"/internal/principals/{ent['enterprise_id']}", headers=internal())
    assert e.json["role"] == "enterprise" and e.json["enterprise_uscc"] == ent["uscc"]
    assert e.json["legal_representative"]["name"] == ent["legal_representative"]["name"]
    match = {"name": person["name"], "id_type": "resident_id_card", "id_number": person["id_number"]}
    found = await api.post(base + "/internal/persons/match", json=match, headers=internal())
    assert found.json == {"person_id": person["person_id"]}
    other = await api.post(
        base + "/internal/persons/match", json={**match, "name": "王某某"}, headers=internal()
    )
    assert is_problem(other, 422, "person_not_registered")


async def test_internal_face_token_consume(api: Api, platform: Platform) -> None:
    base = platform.internal_url("identity")
    ent = await ids.register_enterprise(api)
    session = await ids.login(api, "enterprise", ent["uscc"], ent["password"])
    token = await ids.face_token(api, session["access_token"], "issue_seal")
    body = {"face_token": token, "subject_id": ent["enterprise_id"], "purpose": "issue_seal"}
    ok = await api.post(base + "/internal/face-tokens/consume", json=body, headers=internal())
    assert ok.status == 200 and ok.json["purpose"] == "issue_seal"
    again = await api.post(base + "/internal/face-tokens/consume", json=body, headers=internal())
    assert is_problem(again, 409, "face_token_used")
    unknown = await api.post(
        base + "/internal/face-tokens/consume", json={**body, "face_token": "zz"}, headers=internal()
    )
    assert is_problem(unknown, 422, "face_token_invalid")


async def test_events_carry_no_secret_and_masked_numbers(api: Api, platform: Platform) -> None:
    person = await ids.register_person(api)
    conn = await identity_db(platform)
    try:
        # in stream order: the registration first (without ORDER BY a later event of the
        # stream could come first, and it has no id number)
        rows = await conn.fetch("SELECT data FROM events WHERE stream_id = $1 ORDER BY version",
                                person["person_id"])
    finally:
        await conn.close()
    text = json.dumps([r["data"] for r in rows], ensure_ascii=False)
    assert person["id_number"] not in text and person["phone"] not in text and person["password"] not in text
    data = json.loads(rows[0]["data"]) if isinstance(rows[0]["data"], str) else rows[0]["data"]
    assert data["id_number_masked"] == "*" * 14 + person["id_number"][-4:]
    assert len(data["person_key"]) == 64


def test_generated_numbers_follow_the_standards() -> None:

    from shared.people.elements import check_id_number, check_phone, check_uscc

    for _ in range(200):
        assert check_id_number(ids.id_number(), today_in_china()) is None
        assert check_uscc(ids.uscc()) is None
        assert check_phone(ids.phone()) is None


async def test_revocations_endpoint_lists_recent_logouts_for_the_gateway(
    api: Api, platform: Platform
) -> None:
    person = await ids.register_person(api)
    session = await ids.login(api, "person", person["phone"], person["password"])
    assert (await api.delete("/api/v1/sessions/current", token=session["access_token"])).status == 204
    sid = jwt.decode(session["access_token"], options={"verify_signature": False})["sid"]
    listed = await api.get(platform.internal_url("identity") + "/internal/revocations", headers=internal())
    mine = [i for i in listed.json["items"] if i["principal_id"] == person["person_id"]]
    assert mine and mine[-1]["reason"] == "logout" and mine[-1]["session_id"] == sid
    from shared.catalog import SessionsRevoked

    SessionsRevoked.model_validate(mine[-1])  # what the gateway parses on resync
