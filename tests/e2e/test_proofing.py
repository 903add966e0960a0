"""Proofing at registration, through the gateway, with the sandbox providers (which answer
by the name: ``不存在`` is refused, ``核验中断`` means the provider is out; see
services/identity/identity/adapters/proofing.py): every way around it is tried."""

from __future__ import annotations

import pytest

from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.certificates import current_agreements, last_sms_code

pytestmark = pytest.mark.e2e

UNKNOWN, OUTAGE = "不存在", "核验中断"


def problem(r: Reply, status: int, code: str) -> dict[str, object]:
    assert r.status == status, r
    assert r.headers["Content-Type"].startswith("application/problem+json"), r
    assert r.json["code"] == code, r
    return dict(r.json)


def login_body(username: str, password: str, role: str = "person") -> dict[str, str]:
    return {"method": "password", "role": role, "username": username, "password": password}


async def test_a_verified_person_registers_and_logs_in(api: Api) -> None:
    body = ids.person()
    r = await api.post("/api/v1/persons", json=body)
    assert r.status == 201 and r.json["verification"] == "verified", r
    session = await ids.login(api, "person", body["phone"], body["password"])
    me = await api.get("/api/v1/me", token=session["access_token"])
    assert me.json["verification"] == "verified", me


async def test_a_refused_three_element_check_registers_nobody_and_names_only_the_kind(api: Api) -> None:
    body = ids.person(name=UNKNOWN)
    r = await api.post("/api/v1/persons", json=body)
    answer = problem(r, 422, "realname_mismatch")
    assert answer["errors"] == [{"field": "name", "message": "查无此人 / no such person"}]
    assert body["id_number"] not in r.body.decode() and body["phone"] not in r.body.decode()
    refused = await api.post("/api/v1/sessions", json=login_body(body["phone"], body["password"]))
    problem(refused, 401, "invalid_credentials")  # nothing was registered
    again = await api.post("/api/v1/persons", json={**body, "name": ids.person_name()})
    assert again.status == 201, again  # the elements are not taken by the refusal


async def test_a_pending_person_cannot_log_in_by_password_or_face(api: Api) -> None:
    body = ids.person(name=OUTAGE)
    r = await api.post("/api/v1/persons", json=body)
    assert r.status == 201 and r.json["verification"] == "pending_verification", r
    for username in (body["phone"], body["id_number"]):
        refused = await api.post("/api/v1/sessions", json=login_body(username, body["password"]))
        assert problem(refused, 403, "account_pending_verification")["verification"] == \
            "pending_verification"
        assert "access_token" not in refused.body.decode()
    face = await ids.face_token(api, None, "login", role="person", username=body["phone"])
    refused = await api.post("/api/v1/sessions", json={
        "method": "face", "role": "person", "username": body["phone"], "face_token": face})
    problem(refused, 403, "account_pending_verification")
    wrong = await api.post("/api/v1/sessions", json=login_body(body["phone"], "Wrong#pass1"))
    problem(wrong, 401, "invalid_credentials")  # the password is checked before the retry


async def test_elements_registered_during_an_outage_go_to_the_verified_person(api: Api) -> None:
    """Someone registers a person's ID number while the real-name provider is out (pending,
    cannot log in); the person then registers with their own elements and is verified: the
    pending account is withdrawn and its password opens nothing. A pending registration never
    takes elements from a verified account."""
    real = ids.person()
    squatter = {**ids.person(name=OUTAGE), "id_number": real["id_number"]}
    r = await api.post("/api/v1/persons", json=squatter)
    assert r.status == 201 and r.json["verification"] == "pending_verification", r
    second = {**ids.person(name=OUTAGE), "id_number": real["id_number"]}
    # pending does not supersede pending
    problem(await api.post("/api/v1/persons", json=second), 409, "already_registered")

    mine = await api.post("/api/v1/persons", json=real)
    assert mine.status == 201 and mine.json["verification"] == "verified", mine
    refused = await api.post("/api/v1/sessions", json=login_body(squatter["phone"], squatter["password"]))
    problem(refused, 401, "invalid_credentials")  # the withdrawn account is gone
    session = await api.post("/api/v1/sessions", json=login_body(real["id_number"], real["password"]))
    assert session.status == 201 and session.json["principal"]["id"] == mine.json["person_id"], session

    late = await api.post("/api/v1/persons", json={**ids.person(name=OUTAGE), "id_number": real["id_number"]})
    problem(late, 409, "already_registered")


async def test_a_registry_refusal_or_outage_registers_no_enterprise(api: Api) -> None:
    cases = [
        (ids.enterprise(name=f"吉林省{UNKNOWN}科技有限公司"), 422, "registry_mismatch", "name"),
        (ids.enterprise(legal_representative={**ids.enterprise()["legal_representative"],
                                              "name": UNKNOWN}),
         422, "registry_mismatch", "legal_representative.name"),
        (ids.enterprise(name=f"吉林省{OUTAGE}科技有限公司"), 503, "registry_unavailable", None),
    ]
    for body, status, code, field in cases:
        r = await api.post("/api/v1/enterprises", json=body)
        answer = problem(r, status, code)
        if field:
            assert [e["field"] for e in answer["errors"]] == [field], r  # type: ignore[attr-defined]
        refused = await api.post("/api/v1/sessions", json=login_body(body["uscc"], body["password"],
                                                                     "enterprise"))
        problem(refused, 401, "invalid_credentials")


async def test_no_enterprise_certificate_before_the_legal_representatives_face(api: Api) -> None:
    ent = await ids.register_enterprise(api, verified=False)
    token = (await ids.login(api, "enterprise", ent["uscc"], ent["password"]))["access_token"]
    me = await api.get("/api/v1/me", token=token)
    assert me.json["verification"] == "pending_verification", me
    phone = ent["legal_representative"]["phone"]

    # certs' own endpoints, called directly through the gateway, refuse
    problem(await api.post("/api/v1/certificate/activation-codes", token=token),
            403, "enterprise_not_verified")
    password = "Cert#2026pw"
    activation = {"sms_code": "123456", "password": password, "password_confirm": password,
                  "accepted_agreements": await current_agreements(api)}
    problem(await api.post("/api/v1/certificate", token=token, json=activation),
            403, "enterprise_not_verified")

    # a face token of another purpose, or of another account, does not verify it
    other = await ids.face_token(api, token, "issue_seal")
    problem(await api.post("/api/v1/enterprises/current/verification", token=token,
                           json={"face_token": other}), 403, "face_token_mismatch")
    person = await ids.register_person(api)
    person_token = (await ids.login(api, "person", person["phone"], person["password"]))["access_token"]
    theirs = await ids.face_token(api, person_token, "enterprise_verification")
    problem(await api.post("/api/v1/enterprises/current/verification", token=token,
                           json={"face_token": theirs}), 403, "face_token_mismatch")
    problem(await api.post("/api/v1/enterprises/current/verification", token=person_token,
                           json={"face_token": theirs}), 403, "not_an_enterprise")
    problem(await api.post("/api/v1/enterprises/current/verification",
                           json={"face_token": theirs}), 401, "not_authenticated")

    # the legal representative's face check verifies it, once
    face = await ids.face_token(api, token, "enterprise_verification")
    done = await api.post("/api/v1/enterprises/current/verification", token=token, json={"face_token": face})
    assert done.status == 200 and done.json == {"enterprise_id": ent["enterprise_id"],
                                                "verification": "verified"}, done
    problem(await api.post("/api/v1/enterprises/current/verification", token=token,
                           json={"face_token": face}), 409, "already_verified")
    sent = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert sent.status == 202, sent
    activated = await api.post("/api/v1/certificate", token=token,
                               json={**activation, "sms_code": await last_sms_code(api, phone)})
    assert activated.status == 201, activated
