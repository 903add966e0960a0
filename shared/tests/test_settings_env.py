"""ESEAL_ENV: unset means production (fail closed); the test run sets ``test`` (conftest.py)."""

from __future__ import annotations

import pytest

from shared.settings import ServiceSettings


def test_an_unset_environment_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESEAL_ENV", raising=False)
    assert ServiceSettings().is_production


def test_the_test_run_sets_its_environment_explicitly() -> None:
    assert ServiceSettings().env == "test"


def test_internal_port_and_urls_default_to_public_plus_1000(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ESEAL_PORT", "ESEAL_INTERNAL_PORT", "ESEAL_CERTS_INTERNAL_URL"):
        monkeypatch.delenv(name, raising=False)
    s = ServiceSettings(port=8103)
    assert s.internal_listen_port == 9103
    assert s.internal_url("certs") == "http://127.0.0.1:9103"
    monkeypatch.setenv("ESEAL_CERTS_INTERNAL_URL", "http://certs:9103/")
    assert ServiceSettings().internal_url("certs") == "http://certs:9103"
    assert ServiceSettings(port=8103, internal_port=9999).internal_listen_port == 9999
