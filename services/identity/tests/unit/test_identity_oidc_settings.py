"""ESEAL_OIDC_*: off unless an issuer is set; set, it needs the client and the redirect URI;
production needs https; the secret comes from the variable or a mounted file, never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from identity.bootstrap import _oidc_client
from identity.config import IdentitySettings

HTTP: aiohttp.ClientSession = None  # type: ignore[assignment]  # never used: nothing is fetched here
FULL: dict[str, Any] = {"oidc_issuer": "https://idp.example.gov.cn/oidc", "oidc_client_id": "eseal",
                        "oidc_client_secret": "s3cret-value", "oidc_redirect_uri": "https://eseal.example/app/login/oidc"}


def test_off_without_an_issuer() -> None:
    settings = IdentitySettings(env="test")
    assert not settings.oidc_enabled and settings.oidc_problems() == []
    assert _oidc_client(settings, HTTP) is None


def test_an_issuer_needs_client_id_secret_and_redirect_uri() -> None:
    problems = IdentitySettings(env="test", oidc_issuer="https://idp.example").oidc_problems()
    assert any("ESEAL_OIDC_CLIENT_ID" in p for p in problems)
    assert any("ESEAL_OIDC_REDIRECT_URI" in p for p in problems)
    assert any("ESEAL_OIDC_CLIENT_SECRET" in p for p in problems)
    with pytest.raises(RuntimeError):
        IdentitySettings(env="test", oidc_issuer="https://idp.example").check_production()


def test_production_needs_https() -> None:
    plain = IdentitySettings(env="production", **{**FULL, "oidc_issuer": "http://idp.example"})
    assert "ESEAL_OIDC_ISSUER must be an https:// URL" in plain.production_problems()
    assert IdentitySettings(env="production", **FULL).oidc_problems() == []
    assert IdentitySettings(env="test", **{**FULL, "oidc_issuer": "http://127.0.0.1:1"}).oidc_problems() == []


def test_the_secret_from_a_mounted_file_and_never_in_the_client_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("from-the-file\n")
    settings = IdentitySettings(env="test", **{**FULL, "oidc_client_secret": None,
                                               "oidc_client_secret_file": secret_file})
    assert settings.oidc_secret() == "from-the-file" and settings.oidc_problems() == []
    client = _oidc_client(settings, HTTP)
    assert client is not None and "from-the-file" not in repr(client)
    assert "s3cret-value" not in repr(IdentitySettings(env="test", **FULL))
    missing = IdentitySettings(env="test", **{**FULL, "oidc_client_secret": None,
                                              "oidc_client_secret_file": tmp_path / "absent"})
    assert "ESEAL_OIDC_CLIENT_SECRET_FILE cannot be read" in missing.oidc_problems()


def test_openid_is_always_asked_for() -> None:
    client = _oidc_client(IdentitySettings(env="test", **FULL, oidc_scopes="profile id_number"), HTTP)
    assert client is not None and client.scopes == "openid profile id_number"
