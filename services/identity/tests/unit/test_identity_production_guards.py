"""Sandbox adapters and endpoints never exist in production; production needs its secrets."""

from __future__ import annotations

import pytest
from aiohttp import web
from identity.adapters.face_provider import SandboxFaceProvider, UnavailableFaceProvider, face_provider
from identity.bootstrap import create_app
from identity.config import IdentitySettings


def _paths(app: web.Application) -> set[str]:
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


def test_sandbox_face_provider_refuses_production() -> None:
    with pytest.raises(RuntimeError):
        SandboxFaceProvider("production")
    assert isinstance(face_provider(None, "production"), UnavailableFaceProvider)
    assert isinstance(face_provider(None, "test"), SandboxFaceProvider)
    with pytest.raises(RuntimeError):
        face_provider("sandbox", "production")


def test_sandbox_endpoints_exist_only_outside_production() -> None:
    sandbox = "/api/v1/sandbox/face-checks/{face_check_id}/pass"
    assert sandbox in _paths(create_app(IdentitySettings(env="test")))
    assert sandbox not in _paths(create_app(IdentitySettings(env="production")))
    assert "/api/v1/sessions" in _paths(create_app(IdentitySettings(env="production")))


def test_production_requires_keys_and_refuses_the_fast_kdf() -> None:
    prod = IdentitySettings(env="production")
    with pytest.raises(RuntimeError):
        prod.master_key_bytes()
    with pytest.raises(RuntimeError):
        prod.keyed_hash_key()
    with pytest.raises(RuntimeError):
        IdentitySettings(env="production", test_fast_kdf=True).check_production()
    assert len(IdentitySettings(env="test").master_key_bytes()) == 32
