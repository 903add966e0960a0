"""The face verification provider (人脸验证): adapters of ``service_layer.ports.FaceProvider``.

A provider is told that a check began (for whom, why, until when) and later gives its
verdict. identity keeps the check and mints the single-use token; the provider only
decides pass or fail. Adapters:

* ``SandboxFaceProvider`` (development, test): the verdict comes from the sandbox
  endpoints ``POST /api/v1/sandbox/face-checks/{id}/pass|fail``. It refuses to exist when
  ``ESEAL_ENV=production``.
* ``UnavailableFaceProvider``: production until a real provider adapter is configured;
  starting a face check answers 503 ``face_provider_unavailable`` (password login works).

A real adapter registers the check with the provider's liveness service in ``begin`` and
receives the verdict on a signed callback that calls ``FaceChecks.complete``.
"""

from __future__ import annotations

from typing import Any

from ..domain.errors import FaceProviderUnavailable
from ..domain.face import FaceCheck
from ..service_layer.ports import FaceProvider


class SandboxFaceProvider:
    name = "sandbox"
    accepts_sandbox_verdicts = True

    def __init__(self, env: str) -> None:
        if env == "production":
            raise RuntimeError("the sandbox face provider must not run with ESEAL_ENV=production")

    async def begin(self, check: FaceCheck) -> dict[str, Any]:
        return {"provider": self.name}


class UnavailableFaceProvider:
    name = "none"

    async def begin(self, check: FaceCheck) -> dict[str, Any]:
        raise FaceProviderUnavailable("人脸验证服务暂不可用 / no face verification provider is configured")


def face_provider_name(choice: str | None, env: str) -> str:
    """``ESEAL_FACE_PROVIDER`` (sandbox | none); unset means sandbox outside production."""
    return choice or ("none" if env == "production" else "sandbox")


def face_provider(choice: str | None, env: str) -> FaceProvider:
    choice = face_provider_name(choice, env)
    if choice == "sandbox":
        return SandboxFaceProvider(env)
    if choice == "none":
        return UnavailableFaceProvider()
    raise RuntimeError(f"unknown face provider {choice!r}")
