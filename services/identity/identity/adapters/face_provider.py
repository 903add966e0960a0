"""The face verification provider (人脸验证): adapters of ``service_layer.ports.FaceProvider``.

A provider is told that a check began (for whom, why, until when) and later gives its
verdict. identity keeps the check and mints the single-use token; the provider only
decides pass or fail. Adapters:

* ``SandboxFaceProvider`` (development, test): the verdict comes from the sandbox
  endpoints ``POST /api/v1/sandbox/face-checks/{id}/pass|fail``. It refuses to exist when
  ``ESEAL_ENV=production``.
* ``UnavailableFaceProvider``: production until a real provider adapter is configured;
  starting a face check answers 503 ``face_provider_unavailable`` (password login works).
* ``TencentFaceProvider`` (``ESEAL_FACE_PROVIDER=tencent``): Tencent Cloud 慧眼 FaceID H5
  (faceid 2018-03-01). ``begin`` calls ``DetectAuth`` (RuleId, the person's IdCard and Name,
  RedirectUrl) and keeps the ``BizToken`` with the check; the client goes to the returned
  ``url``; Tencent sends the browser back to the RedirectUrl (with ``token=BizToken``), and
  the client asks ``POST /api/v1/face-checks/{id}/result``, where ``result`` fetches
  ``GetDetectInfoEnhanced`` with the stored BizToken and passes the check only when Tencent
  passed it (``ErrCode`` 0) *and* the name and ID number it verified are the person's. What
  the browser brings back is never trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from shared.logging import get_logger
from shared.providers.tencentcloud import TencentCloudClient, TencentCloudError, TencentCloudUnavailable

from ..domain.errors import FaceProviderUnavailable
from ..domain.face import FaceCheck, FacePerson
from ..service_layer.ports import FaceBegun, FaceProvider, FaceResult

if TYPE_CHECKING:
    from ..config import IdentitySettings

log = get_logger(__name__)


class SandboxFaceProvider:
    name = "sandbox"
    accepts_sandbox_verdicts = True

    def __init__(self, env: str) -> None:
        if env == "production":
            raise RuntimeError("the sandbox face provider must not run with ESEAL_ENV=production")

    async def begin(self, check: FaceCheck, person: FacePerson | None) -> FaceBegun:
        return FaceBegun({"provider": self.name})

    async def result(self, check: FaceCheck, person: FacePerson | None) -> FaceResult:
        return "pending"  # the verdict comes from the sandbox endpoints


class UnavailableFaceProvider:
    name = "none"

    async def begin(self, check: FaceCheck, person: FacePerson | None) -> FaceBegun:
        raise FaceProviderUnavailable("人脸验证服务暂不可用 / no face verification provider is configured")

    async def result(self, check: FaceCheck, person: FacePerson | None) -> FaceResult:
        raise FaceProviderUnavailable("人脸验证服务暂不可用 / no face verification provider is configured")


_UNAVAILABLE = "人脸验证服务暂不可用 / the face verification service is unavailable"


class TencentFaceProvider:
    """Tencent Cloud 慧眼 H5: ``DetectAuth`` to start, ``GetDetectInfoEnhanced`` for the result."""

    name = "tencent"

    def __init__(self, client: TencentCloudClient, rule_id: str, redirect_url: str) -> None:
        self._client, self._rule, self._redirect = client, rule_id, redirect_url

    def describe(self) -> dict[str, str]:
        return {**self._client.describe(), "rule_id": self._rule, "redirect_url": self._redirect}

    async def begin(self, check: FaceCheck, person: FacePerson | None) -> FaceBegun:
        params: dict[str, Any] = {"RuleId": self._rule,
                                  "RedirectUrl": self._redirect.replace("{face_check_id}", str(check.id))}
        if person is not None:
            params.update(IdCard=person.id_number, Name=person.name)
        try:
            # Not repeated once it reached Tencent: each call opens a new flow (a new BizToken).
            response = await self._client.call("DetectAuth", params, idempotent=False)
        except (TencentCloudError, TencentCloudUnavailable) as exc:
            raise FaceProviderUnavailable(_UNAVAILABLE) from exc
        token, url = response.get("BizToken"), response.get("Url")
        if not token or not url:
            log.warning("face_provider_incomplete_answer", request_id=response.get("RequestId"))
            raise FaceProviderUnavailable(_UNAVAILABLE)
        return FaceBegun({"provider": self.name, "url": str(url)}, str(token))

    async def result(self, check: FaceCheck, person: FacePerson | None) -> FaceResult:
        if not check.provider_ref:
            return "failed"  # started by another provider: Tencent has nothing to say
        params = {"BizToken": check.provider_ref, "RuleId": self._rule, "InfoType": "1"}  # text only
        try:
            response = await self._client.call("GetDetectInfoEnhanced", params, idempotent=True)
        except TencentCloudError as exc:
            if exc.code.startswith("InvalidParameterValue.BizToken"):
                return "failed"  # expired or unknown at Tencent: this check cannot pass
            raise FaceProviderUnavailable(_UNAVAILABLE) from exc
        except TencentCloudUnavailable as exc:
            raise FaceProviderUnavailable(_UNAVAILABLE) from exc
        text = response.get("Text") or {}
        code = text.get("ErrCode")
        if code is None:
            return "pending"
        if code != 0:
            log.info("face_check_failed_at_provider", face_check_id=str(check.id), err_code=code)
            return "failed"
        if person is None:
            return "passed"  # an anonymous login naming nobody: its token matches nobody
        same = (str(text.get("Name") or "") == person.name
                and str(text.get("IdCard") or "").upper() == person.id_number.upper())
        if not same:
            log.warning("face_check_person_mismatch", face_check_id=str(check.id))
            return "failed"
        return "passed"


def face_provider_name(choice: str | None, env: str) -> str:
    """``ESEAL_FACE_PROVIDER`` (sandbox | none | tencent); unset means sandbox outside production."""
    return choice or ("none" if env == "production" else "sandbox")


def tencent_face_provider(session: aiohttp.ClientSession, settings: IdentitySettings) -> TencentFaceProvider:
    """``ESEAL_FACE_PROVIDER=tencent``: refuses to start without its account, rule and return URL."""
    client = settings.tencent_client(session, "ESEAL_FACE_PROVIDER", "faceid", "2018-03-01")
    missing = settings.tencent_face_missing()
    if missing:
        raise RuntimeError(f"ESEAL_FACE_PROVIDER=tencent needs {' and '.join(missing)}")
    assert settings.tencent_face_rule_id and settings.tencent_face_redirect_url
    return TencentFaceProvider(client, settings.tencent_face_rule_id, settings.tencent_face_redirect_url)


def face_provider(choice: str | None, env: str, *,
                  tencent: Callable[[], FaceProvider] | None = None) -> FaceProvider:
    choice = face_provider_name(choice, env)
    if choice == "tencent":
        if tencent is None:
            raise RuntimeError("ESEAL_FACE_PROVIDER=tencent is not wired here")
        return tencent()
    if choice == "sandbox":
        return SandboxFaceProvider(env)
    if choice == "none":
        return UnavailableFaceProvider()
    raise RuntimeError(f"unknown face provider {choice!r}")
