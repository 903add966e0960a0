"""Property-based run of the whole public API (Schemathesis) against the running platform.

The schema is the one the gateway serves (``GET /api/v1/openapi.json``). Every operation gets
a bounded number of generated requests, derandomized so a run repeats: positive cases (that
fit the schema) and negative ones (that break it: wrong types, missing fields, bad formats),
then a batch on real objects (an agent, a seal granted to the person, its grant, a message, a
face check...) so the handlers run past "no such object". Callers are real: an enterprise
account (with an activated certificate) and a natural person registered and logged in, and a
relying system created with the ops CLI when stamping is served. Operations that accept an
anonymous caller too are called both ways.

Asserted for every response: no 5xx (Schemathesis's ``not_a_server_error``); every 4xx is
``application/problem+json`` with a stable ``code``; and the document tells the truth (the
status, content type, headers and body are the documented ones). All failures are collected
(no shrinking) and reported together with a curl command that reproduces each; a summary of
operations × examples and the statuses seen goes to the test log directory (api-fuzz.txt).

A second test sends what no schema-driven generator makes: malformed, deeply nested, NUL-
carrying or non-UTF-8 bodies, and hostile cursors and limits.

A deeper hunt: ``ESEAL_FUZZ_EXAMPLES=200,200 ESEAL_FUZZ_REAL_EXAMPLES=50``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.stack import ROOT
from shared.china_time import today_in_china
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api, Reply
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

# Per operation (positive,negative); see the docstring for a deeper hunt.
POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES = (
    int(n) for n in os.environ.get("ESEAL_FUZZ_EXAMPLES", "15,10").split(","))
REAL_OBJECT_EXAMPLES = int(os.environ.get("ESEAL_FUZZ_REAL_EXAMPLES", "8"))
# Fewer for password login: each well-formed wrong login counts against identity's per-address
# failure window (50 per 10 minutes), which the rest of the session's tests log in under too.
BUDGET = {"POST /api/v1/sessions": (6, 6)}
REQUEST_TIMEOUT = 10.0  # seconds
STREAM_TIMEOUT = 1.0  # an event stream never ends by itself: it is read this long, then cut
SCHEMA_PATH = "/api/v1/openapi.json"
PROBLEM_JSON = "application/problem+json"
# Paths where a user is a natural person rather than an enterprise account.
PERSON_PATHS = ("/api/v1/my/", "/api/v1/scans", "/api/v1/stamp-requests/{request_id}/stamp",
                "/api/v1/usage-records")


def problem_details_for_client_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is RFC 9457 problem+json with a stable snake_case ``code``."""
    if not 400 <= response.status_code < 500:
        return None
    ctype = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert ctype == PROBLEM_JSON, f"{response.status_code} answered with {ctype or 'no content type'}"
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"], body
    assert body.get("status") == response.status_code, body
    return None


# No 5xx, problem+json 4xx; and the document tells the truth: every status, content type,
# header and body seen is the documented one.
CHECKS = [not_a_server_error, problem_details_for_client_errors, status_code_conformance,
          content_type_conformance, response_headers_conformance, response_schema_conformance]


@dataclass
class Callers:
    """Credentials for each security scheme; ``spare`` sessions are for logging out."""

    enterprise: str
    person: str
    spare: list[str]
    client_token: str | None = None
    client_basic: str | None = None
    # Real objects of these callers, by path parameter name: a further batch of cases runs
    # against them, so the handlers are exercised past "no such object".
    objects: dict[str, str] = field(default_factory=dict)

    def headers(self, operation: Any, choice: int) -> dict[str, str] | None:
        """The headers for one generated case; ``None`` when no credential fits."""
        alternatives = operation.definition.raw.get("security", [])
        if not alternatives:
            return {}
        requirement = alternatives[choice % len(alternatives)]
        if not requirement:
            return {}
        scheme = next(iter(requirement))
        if scheme == "userBearer":
            if operation.path == "/api/v1/sessions/current":  # ends the session it names
                return {"Authorization": f"Bearer {self.spare[choice % len(self.spare)]}"}
            person = operation.path.startswith(PERSON_PATHS)
            return {"Authorization": f"Bearer {self.person if person else self.enterprise}"}
        if scheme == "clientBearer":
            return {"Authorization": f"Bearer {self.client_token}"} if self.client_token else None
        if scheme == "clientBasic":
            return {"Authorization": f"Basic {self.client_basic}"} if self.client_basic else None
        raise AssertionError(f"unknown security scheme {scheme}")


@dataclass
class Report:
    examples: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)

    def text(self, seconds: float) -> str:
        lines = [f"{len(self.examples)} operations, {sum(self.examples.values())} requests "
                 f"in {seconds:.1f} s; {sum(len(f) for f in self.failures.values())} failures"]
        for label in sorted(self.examples):
            seen = ", ".join(f"{s}×{n}" for s, n in sorted(self.statuses[label].items()))
            lines.append(f"  {label}: {self.examples[label]} in {self.seconds[label]:.1f} s ({seen})")
        lines += [f"  skipped {s}" for s in self.skipped]
        lines += [f"  never called: {op}" for op in self.operations if op not in self.examples]
        return "\n".join(lines)


def fuzz_operation(operation: Any, base_url: str, callers: Callers, report: Report) -> None:
    label = operation.label
    session = requests.Session()
    answers = operation.definition.raw["responses"].get("200", {}).get("content", {})
    timeout = STREAM_TIMEOUT if "text/event-stream" in answers else REQUEST_TIMEOUT

    def exercise(case: Any, choice: int) -> None:
        headers = callers.headers(operation, choice)
        if headers is None:
            return
        report.examples[label] += 1
        response = None
        try:
            response = case.call(base_url=base_url, session=session, headers=headers,
                                 timeout=timeout)
            report.statuses[label][response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)
        except requests.exceptions.InvalidHeader:
            return  # a generated header value that no HTTP client can send
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then reported
            seen = "no answer" if response is None else \
                f"{response.status_code} {response.content[:300].decode(errors='replace')}"
            report.failures[label].append(f"{str(exc).strip()[:600]}\n  answer: {seen}\n  "
                                          f"{case.as_curl_command(headers, base_url=base_url)}")

    positive, negative = BUDGET.get(label, (POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES))
    batches: list[tuple[GenerationMode, int, dict[str, str]]] = [
        (GenerationMode.POSITIVE, positive, {}), (GenerationMode.NEGATIVE, negative, {})]
    names = [p["name"] for p in operation.definition.raw.get("parameters", ()) if p["in"] == "path"]
    # Not for DELETE: the object would be gone for the operations after it.
    if names and set(names) <= set(callers.objects) and operation.method.upper() != "DELETE":
        real = {name: callers.objects[name] for name in names}
        batches.append((GenerationMode.POSITIVE, REAL_OBJECT_EXAMPLES, real))
        batches.append((GenerationMode.NEGATIVE, REAL_OBJECT_EXAMPLES, real))
    for mode, examples, fixed in batches:
        @hypothesis.settings(max_examples=examples, deadline=None, derandomize=True,
                             database=None, phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck), verbosity=hypothesis.Verbosity.quiet)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode,
                                                     path_parameters=fixed or None),
                          choice=st.integers(min_value=0, max_value=3))
        def run(case: Any, choice: int) -> None:
            exercise(case, choice)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            report.skipped.append(f"{label} ({mode.value}{' on real objects' if fixed else ''}: "
                                  "nothing to generate)")


def create_client(platform: Platform) -> tuple[str, str]:
    """A relying system, created with the ops CLI as ops would."""
    out = subprocess.run([sys.executable, "-m", "stamping", "create-client", "--name", "模糊测试系统",
                          "--json"], cwd=ROOT, env=platform.config.environment("stamping"),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout.strip().splitlines()[-1])
    return body["client_id"], body["client_secret"]


async def callers_for(platform: Platform, api: Api, document: dict[str, Any]) -> Callers:
    enterprise = await ids.register_enterprise(api)
    person = await ids.register_person(api)
    ent_session = await ids.login(api, "enterprise", enterprise["uscc"], enterprise["password"])
    person_session = await ids.login(api, "person", person["phone"], person["password"])

    spare = [(await ids.login(api, "person", person["id_number"], person["password"]))["access_token"]
             for _ in range(3)]
    callers = Callers(ent_session["access_token"], person_session["access_token"], spare)
    callers.objects = await real_objects(api, enterprise, ent_session["access_token"], person)
    if "/api/v1/oauth/token" in document["paths"]:
        client_id, secret = await asyncio.to_thread(create_client, platform)
        callers.client_basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        r = await api.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {callers.client_basic}"})
        assert r.status == 200, r
        callers.client_token = str(r.json["access_token"])
        made = await api.post("/api/v1/stamp-requests", token=callers.client_token,
                              json={"title": "模糊测试", "digest_sha256": "ab" * 32})
        assert made.status == 201, made
        callers.objects["request_id"] = made.json["request_id"]
    return callers


CERTIFICATE_PASSWORD = "Fuzz#2026pw"


async def real_objects(api: Api, enterprise: dict[str, Any], token: str,
                       person: dict[str, Any]) -> dict[str, str]:
    """An agent, an activated certificate, a seal granted to the person, a face check."""
    objects = {"enterprise_id": enterprise["enterprise_id"]}
    objects["agent_id"] = (await ids.add_agent(api, token))["agent_id"]
    sent = await api.post("/api/v1/certificate/activation-codes", token=token)
    assert sent.status == 202, sent
    sms = await api.get("/api/v1/sandbox/sms",
                        params={"phone": enterprise["legal_representative"]["phone"]})
    code = re.search(r"验证码(\d{6})", sms.json["items"][0]["text"])
    assert code, sms
    agreements = (await api.get("/api/v1/agreements")).json["items"]
    activated = await api.post("/api/v1/certificate", token=token, json={
        "sms_code": code.group(1), "password": CERTIFICATE_PASSWORD,
        "password_confirm": CERTIFICATE_PASSWORD,
        "accepted_agreements": [{"code": a["code"], "version": a["version"]} for a in agreements]})
    assert activated.status == 201, activated
    seal = await api.post("/api/v1/seals", token=token, json={
        "type": "contract", "face_token": await ids.face_token(api, token, "issue_seal")})
    assert seal.status == 201, seal
    objects["seal_id"] = seal.json["seal_id"]
    today = today_in_china()
    window = {"name": person["name"], "id_type": "resident_id_card", "id_number": person["id_number"],
              "valid_from": (today - timedelta(days=1)).isoformat(),
              "valid_to": (today + timedelta(days=30)).isoformat()}

    async def add_grant() -> Reply | None:  # seals learns of new persons from identity's events
        r = await api.post(f"/api/v1/seals/{objects['seal_id']}/grants", token=token, json=window)
        return None if r.status == 422 and r.json.get("code") == "person_not_registered" else r

    granted = await eventually(add_grant, 15, every=0.2, what="seals knowing the person")
    assert granted is not None and granted.status == 201, granted
    objects["grant_id"] = granted.json["grant_id"]
    async def message() -> Reply | None:  # notify writes "seal issued" from seals' event
        r = await api.get("/api/v1/messages", token=token)
        return r if r.status == 200 and r.json["items"] else None

    with contextlib.suppress(AssertionError):  # a message is one more object, not required
        listed = await eventually(message, 15, every=0.2)
        objects["message_id"] = listed.json["items"][0]["message_id"]
    check = await api.post("/api/v1/face-checks", token=token, json={"purpose": "revoke_seal"})
    assert check.status == 201, check
    objects["face_check_id"] = check.json["face_check_id"]
    return objects


def fuzz(platform: Platform, callers: Callers) -> Report:
    schema = schemathesis.openapi.from_url(platform.gateway_url + SCHEMA_PATH)
    report = Report()
    for result in schema.get_all_operations():
        operation, started = result.ok(), time.monotonic()
        report.operations.append(operation.label)
        fuzz_operation(operation, platform.gateway_url, callers, report)
        report.seconds[operation.label] += time.monotonic() - started
    return report


@dataclass
class Setup:
    document: dict[str, Any]
    callers: Callers


@pytest_asyncio.fixture(scope="module")
async def setup(platform: Platform, api: Api) -> Setup:
    served = await api.get(SCHEMA_PATH)
    assert served.status == 200, served
    return Setup(served.json, await callers_for(platform, api, served.json))


async def test_no_generated_request_gets_a_server_error_and_client_errors_are_problems(
        platform: Platform, setup: Setup) -> None:
    started = time.monotonic()
    report = await asyncio.to_thread(fuzz, platform, setup.callers)
    summary = report.text(time.monotonic() - started)
    (platform.log_dir / "api-fuzz.txt").write_text(summary, encoding="utf-8")
    print(summary)
    # Schemathesis leaves out the schema's own location (fetched above, checked by a unit test).
    documented = {f"{m.upper()} {p}" for p, ops in setup.document["paths"].items() for m in ops
                  if p != SCHEMA_PATH}
    assert set(report.operations) == documented, "Schemathesis saw every documented operation"
    assert set(report.examples) == set(report.operations), "every operation was called"
    problems = [f"{label}:\n  " + "\n  ".join(found) for label, found in report.failures.items()]
    assert not problems, "\n".join(problems)


# --- hostile inputs no schema-driven generator makes --------------------------------------

def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE_JSON = {
    "empty": b"",
    "null": b"null",
    "array": b"[]",
    "number": b"0",
    "string": b'"x"',
    "truncated": b'{"a": ',
    "invalid utf-8": b'{"a": "\xff\xfe"}',
    "deep nesting": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "NaN and Infinity": b'{"a": NaN, "b": Infinity, "limit": -Infinity}',
    "huge number": b'{"a": 1e999, "b": ' + b"9" * 5000 + b"}",
    "duplicate keys": b'{"a": 1, "a": 2}',
    "NUL in text": b'{"a\\u0000": "\\u0000"}',
    "lone surrogate": b'{"a": "\\ud800"}',
}
_B = "fuzzboundary"
HOSTILE_MULTIPART = {
    "multipart without a boundary": ("multipart/form-data", b"--x\r\n\r\n--x--\r\n"),
    "multipart with a broken part header": (
        f"multipart/form-data; boundary={_B}",
        f"--{_B}\r\n".encode() + b'Content-Disposition: form-data; name="\xff\x01\x02"\r\n\r\n'
        + f"x\r\n--{_B}--\r\n".encode()),
    "multipart cut short": (f"multipart/form-data; boundary={_B}",
                            f'--{_B}\r\nContent-Disposition: form-data; name="document"\r\n'.encode()),
    "multipart with a header line only": (f"multipart/form-data; boundary={_B}",
                                          f"--{_B}\r\ngarbage\r\n\r\n--{_B}--\r\n".encode()),
}
HOSTILE_QUERY = {
    "cursor": ["!!!", _b64('{"s": 99999999999999999999999}'), _b64('{"s": -1}'), _b64("[1]"),
               _b64("9999-12-31T23:59:59+00:00|00000000-0000-0000-0000-000000000000"),
               _b64("0001-01-01T00:00:00|x"), _b64("a|b|c"), "%00", "x" * 200,
               # the one format (shared/cursors.py) with values out of any column's range
               _b64("[99999999999999999999999]"), _b64("[-1]"), _b64('["9999-12-31T23:59:59-12:00",'
               ' "00000000-0000-0000-0000-000000000000"]'), _b64('["0001-01-01T00:00:00+14:00",'
               ' "00000000-0000-0000-0000-000000000000"]')],
    "limit": ["99999999999999999999999", "-1", "0", "1e3", "NaN", ""],
}


def _hostile_requests(document: dict[str, Any]) -> list[tuple[str, str, Any, str, dict[str, Any]]]:
    """(label, method, operation-like, url path, request kwargs) for every hostile variant."""
    out = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"{[^}]+}", "7c3e2a52-51f4-4d55-9b47-0d4f0b0e8d11", path)
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            like = SimpleNamespace(path=path, definition=SimpleNamespace(raw=op))
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                for name, body in HOSTILE_JSON.items():
                    out.append((f"{label} [{name} body]", method, like, concrete, {
                        "data": body, "headers": {"Content-Type": "application/json"}}))
                out.append((f"{label} [text/plain body]", method, like, concrete, {
                    "data": b"{}", "headers": {"Content-Type": "text/plain"}}))
            if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
                for name, (ctype, body) in HOSTILE_MULTIPART.items():
                    out.append((f"{label} [{name}]", method, like, concrete, {
                        "data": body, "headers": {"Content-Type": ctype}}))
            for param in op.get("parameters", ()):
                if param["in"] != "query":
                    continue
                values = HOSTILE_QUERY.get(param["name"], [])
                if "string" in json.dumps(param["schema"]):
                    values = [*values, "a\x00b"]  # text PostgreSQL cannot store
                for value in values:
                    out.append((f"{label} [{param['name']}={value[:40]!r}]", method, like, concrete,
                                {"params": {param["name"]: value}}))
    return out


def send_hostile(base_url: str, document: dict[str, Any], callers: Callers) -> list[str]:
    failures = []
    session = requests.Session()
    for label, method, like, path, kwargs in _hostile_requests(document):
        headers = callers.headers(like, 0)
        if headers is None:
            continue
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
        timeout = STREAM_TIMEOUT if path.endswith("/stream") else REQUEST_TIMEOUT
        try:
            r = session.request(method, base_url + path, timeout=timeout, **kwargs)
        except requests.exceptions.ReadTimeout:
            continue  # an event stream that opened: not an error

        ctype = r.headers.get("Content-Type", "").split(";")[0]
        if r.status_code >= 500 or (r.status_code >= 400 and (
                ctype != PROBLEM_JSON or not r.json().get("code"))):
            failures.append(f"{label}: {r.status_code} {r.text[:200]}")
    return failures


async def test_hostile_bodies_and_queries_get_client_error_problems_never_a_server_error(
        platform: Platform, setup: Setup) -> None:
    failures = await asyncio.to_thread(send_hostile, platform.gateway_url, setup.document,
                                       setup.callers)
    assert not failures, "\n".join(failures)
