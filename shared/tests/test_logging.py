"""Logs never carry secrets: structlog JSON output with passwords, codes and tokens."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from shared.logging import REDACTED, configure_logging, get_logger

JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJwZXJzb24tMSJ9.c2lnbmF0dXJlLXZhbHVl"
SECRETS = {
    "password": "Hunter2-login!",
    "sms_code": "482913",
    "certificate_password": "Cert-Pa55-word",
    "access_token": "acc-9f8e7d6c5b4a",
    "refresh_token": "ref-0a1b2c3d4e5f",
    "face_token": "face-77aa88bb99cc",
}


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """JSON logs (as in production) written to a buffer; logging restored afterwards."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("libtest", json=True, level="DEBUG")
    try:
        yield buffer
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers[:], root.level = handlers, level


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def assert_no_secret(buffer: io.StringIO) -> None:
    text = buffer.getvalue()
    for value in [*SECRETS.values(), JWT, "s3cr3t-in-url", "Tok3nHeader"]:
        assert value not in text, f"{value!r} leaked into the log:\n{text}"


def test_secret_keys_are_redacted_at_any_depth(log_output: io.StringIO) -> None:
    log = get_logger("test")
    log.info("login_attempt", user="alice", **SECRETS)
    log.info("request", headers={"Authorization": f"Bearer {JWT}", "Accept": "application/json"},
             body={"person": {"name": "Bob", "password": SECRETS["password"]}},
             pairs=[("Authorization", "Tok3nHeader"), ("X-Trace", "t-1")])
    assert_no_secret(log_output)
    first, second = lines(log_output)
    assert first["user"] == "alice" and first["event"] == "login_attempt"
    assert all(first[k] == REDACTED for k in SECRETS)
    assert second["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert second["body"] == {"person": {"name": "Bob", "password": REDACTED}}
    assert second["pairs"] == [["Authorization", REDACTED], ["X-Trace", "t-1"]]


def test_tokens_and_assignments_inside_free_text_are_redacted(log_output: io.StringIO) -> None:
    log = get_logger("test")
    log.warning(f"upstream said 401 for Authorization: Bearer {JWT}")
    log.warning("retrying", detail=f"token {JWT} expired; sms_code={SECRETS['sms_code']} resent")
    log.info("form", raw=f'{{"certificate_password": "{SECRETS["certificate_password"]}", "seal": "s-1"}}')
    log.info("broker", url="amqp://eseal:s3cr3t-in-url@rabbit:5672/")
    log.info("auth header", raw="authorization=Token Tok3nHeader")
    assert_no_secret(log_output)
    out = lines(log_output)
    assert out[0]["event"] == f"upstream said 401 for Authorization: {REDACTED}"
    assert "sms_code=" + REDACTED in out[1]["detail"]
    assert '"seal": "s-1"' in out[2]["raw"]
    assert out[3]["url"] == f"amqp://eseal:{REDACTED}@rabbit:5672/"


def test_objects_and_exceptions_are_redacted(log_output: io.StringIO) -> None:
    from pydantic import BaseModel

    class Login(BaseModel):
        login_name: str
        password: str

    log = get_logger("test")
    log.info("parsed", payload=Login(login_name="alice", password=SECRETS["password"]))
    try:
        raise ValueError(f"bad refresh_token={SECRETS['refresh_token']}")
    except ValueError:
        log.exception("refresh_failed")
    assert_no_secret(log_output)
    parsed, failed = lines(log_output)
    assert "alice" in parsed["payload"]
    assert "ValueError" in failed["exception"]


def test_stdlib_log_records_are_redacted_too(log_output: io.StringIO) -> None:
    logging.getLogger("aiohttp.server").error("Error handling request password=%s face_token: %s",
                                              SECRETS["password"], SECRETS["face_token"])
    assert_no_secret(log_output)
    (line,) = lines(log_output)
    assert line["level"] == "error" and REDACTED in line["event"]
