"""Proofing providers: the real-name check of a person (三要素: name, ID number, phone) and
the business-registry check of an enterprise (name, USCC, legal representative's name).

Adapters of ``service_layer.ports.RealNameVerifier`` (``ESEAL_REALNAME_PROVIDER``) and
``BusinessRegistry`` (``ESEAL_REGISTRY_PROVIDER``), each ``sandbox`` (development, test;
refused in production) or ``none`` (no provider: every check is ``ProofingUnavailable``);
the real-name port also ``tencent``: Tencent Cloud 慧眼 ``PhoneVerification`` (faceid
2018-03-01), the three elements in one call; the registry port also ``tencent``: Tencent
Cloud OCR ``VerifyBizLicenseEnterprise4`` (ocr 2018-11-19, 企业四要素核验: name, USCC, legal
representative's name and ID number, one consistency flag each); both over
``shared/providers/tencentcloud.py``.
Unset means ``sandbox`` outside production and ``none`` in production (fail closed: persons
are registered ``pending_verification``, enterprises are refused with 503 until a provider
is configured).

The sandbox answers like a provider, deterministically, so that tests and the H5 client can
reach every outcome:

* person: name ``不存在`` → field ``name``; name ``核验中断`` → the provider is unavailable;
  an ID number listed in ``ESEAL_SANDBOX_REALNAME_REJECT`` → field ``id_number``; an entry
  ``phone:<phone>`` there → field ``phone``; anything else → verified.
* enterprise: a name containing ``不存在`` → field ``name``; containing ``核验中断`` → the
  registry is unavailable; a legal representative named ``不存在`` → field
  ``legal_representative.name``; a USCC listed in ``ESEAL_SANDBOX_REGISTRY_REJECT`` → field
  ``uscc``; anything else → verified.

A production adapter implements the same two methods over the provider's protocol and maps
its answers to a ``ProofingResult`` naming the kind of element (never the values on record),
and every failure without a verdict (timeouts, quotas, service errors) to
``ProofingUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import aiohttp

from shared.logging import get_logger
from shared.providers.tencentcloud import TencentCloudClient, TencentCloudError, TencentCloudUnavailable

from ..service_layer.ports import BusinessRegistry, ProofingResult, ProofingUnavailable, RealNameVerifier

if TYPE_CHECKING:
    from ..config import IdentitySettings

log = get_logger(__name__)
T = TypeVar("T")

UNKNOWN = "不存在"
OUTAGE = "核验中断"


def _listed(entries: str) -> frozenset[str]:
    return frozenset(x.strip().upper() for x in entries.split(",") if x.strip())


def _refuse_production(env: str, what: str) -> None:
    if env == "production":
        raise RuntimeError(f"the sandbox {what} must not run with ESEAL_ENV=production")


class SandboxRealName:
    name = "sandbox"

    def __init__(self, env: str, rejected: str = "") -> None:
        _refuse_production(env, "real-name verifier")
        self.rejected = _listed(rejected)

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        if name == OUTAGE:
            raise ProofingUnavailable("sandbox outage")
        if name == UNKNOWN:
            return ProofingResult(False, "name", "查无此人 / no such person")
        if id_number.upper() in self.rejected:
            return ProofingResult(False, "id_number",
                                  "姓名与证件号码不一致 / name and ID number do not match")
        if f"PHONE:{phone}" in self.rejected:
            return ProofingResult(False, "phone",
                                  "手机号码与身份信息不一致 / the phone is not registered to this person")
        return ProofingResult(True)


class SandboxRegistry:
    name = "sandbox"

    def __init__(self, env: str, rejected: str = "") -> None:
        _refuse_production(env, "business registry")
        self.rejected = _listed(rejected)

    async def verify_enterprise(self, name: str, uscc: str, legal_representative_name: str,
                                legal_representative_id_number: str) -> ProofingResult:
        if OUTAGE in name:
            raise ProofingUnavailable("sandbox outage")
        if UNKNOWN in name:
            return ProofingResult(False, "name", "查无此企业 / no enterprise of this name is registered")
        if uscc.upper() in self.rejected:
            return ProofingResult(False, "uscc",
                                  "企业名称与统一社会信用代码不一致 / the name and the USCC do not match")
        if legal_representative_name == UNKNOWN:
            return ProofingResult(False, "legal_representative.name",
                                  "法定代表人与登记信息不一致 /"
                                  " the legal representative does not match the registry")
        return ProofingResult(True)


class NoRealName:
    name = "none"

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        raise ProofingUnavailable("no real-name provider is configured")


class NoRegistry:
    name = "none"

    async def verify_enterprise(self, name: str, uscc: str, legal_representative_name: str,
                                legal_representative_id_number: str) -> ProofingResult:
        raise ProofingUnavailable("no business registry is configured")


# --- Tencent Cloud 慧眼: PhoneVerification ---------------------------------------------------

# PhoneVerification's result codes (Tencent's documentation) by the kind of element they
# blame; "0" is a match, any other code (service errors, quotas) no verdict at all.
_BLAMED: Mapping[str, frozenset[str]] = {
    "phone": frozenset({"-1", "-4", "-5", "-6", "-9", "-10"}),
    "name": frozenset({"-2", "-8"}),
    "id_number": frozenset({"-3", "-7"}),
}
_WHY = {
    "phone": "手机号码与身份信息不一致 / the phone is not registered to this person",
    "name": "姓名与登记信息不一致 / the name does not match the identity records",
    "id_number": "证件号码与登记信息不一致 / the ID number does not match the identity records",
}


class TencentRealName:
    name = "tencent"

    def __init__(self, client: TencentCloudClient) -> None:
        self._client = client

    def describe(self) -> dict[str, str]:
        return self._client.describe()

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        if id_type != "resident_id_card":
            return ProofingResult(False, "id_type",
                                  "仅支持居民身份证 / only resident ID cards can be checked")
        try:
            # a check changes nothing at Tencent: safe to repeat after a transient failure
            answer = await self._client.call("PhoneVerification",
                                             {"IdCard": id_number, "Name": name, "Phone": phone},
                                             idempotent=True)
        except (TencentCloudError, TencentCloudUnavailable) as exc:
            raise ProofingUnavailable(type(exc).__name__) from exc
        result = str(answer.get("Result", ""))
        if result == "0":
            return ProofingResult(True)
        blamed = next((kind for kind, codes in _BLAMED.items() if result in codes), None)
        if blamed is None:
            log.warning("realname_provider_failed", result=result, request_id=answer.get("RequestId"))
            raise ProofingUnavailable(f"PhoneVerification result {result}")
        log.info("realname_refused", result=result, field=blamed, request_id=answer.get("RequestId"))
        return ProofingResult(False, blamed, _WHY[blamed])


def tencent_realname(session: aiohttp.ClientSession, settings: IdentitySettings) -> TencentRealName:
    """``ESEAL_REALNAME_PROVIDER=tencent``: refuses to start without the account."""
    client = settings.tencent_client(session, "ESEAL_REALNAME_PROVIDER", "faceid", "2018-03-01")
    return TencentRealName(client)


# --- Tencent Cloud OCR: VerifyBizLicenseEnterprise4 (企业四要素核验) -------------------------

# The answer's consistency flags, in the order a refusal blames them: a USCC that is not the
# enterprise's makes the other flags meaningless, so it is named first.
_ENTERPRISE_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("IsCreditCodeConsistent", "uscc",
     "企业名称与统一社会信用代码不一致 / the name and the USCC do not match"),
    ("IsEntNameConsistent", "name", "企业名称与登记信息不一致 / the name does not match the registry"),
    ("IsLrNameConsistent", "legal_representative.name",
     "法定代表人与登记信息不一致 / the legal representative does not match the registry"),
    ("IsIdNumConsistent", "legal_representative.id_number",
     "法定代表人证件号码与登记信息不一致 /"
     " the legal representative's ID number does not match the registry"),
)


class TencentRegistry:
    """企业四要素核验 against the registry data behind Tencent Cloud OCR. ``StatusCode`` 0 is an
    answer (billed); each ``Is…Consistent`` flag says whether one element matched. Any other
    status, or a flag missing from the answer, is no verdict (503, nothing registered)."""

    name = "tencent"

    def __init__(self, client: TencentCloudClient) -> None:
        self._client = client

    def describe(self) -> dict[str, str]:
        return self._client.describe()

    async def verify_enterprise(self, name: str, uscc: str, legal_representative_name: str,
                                legal_representative_id_number: str) -> ProofingResult:
        params = {"CreditCode": uscc, "EntName": name, "LrName": legal_representative_name,
                  "IdNum": legal_representative_id_number}
        try:
            # a check changes nothing at Tencent: safe to repeat after a transient failure
            answer = await self._client.call("VerifyBizLicenseEnterprise4", params, idempotent=True)
        except (TencentCloudError, TencentCloudUnavailable) as exc:
            raise ProofingUnavailable(type(exc).__name__) from exc
        request_id = answer.get("RequestId")
        if str(answer.get("StatusCode")) != "0":
            log.warning("registry_provider_failed", status=answer.get("StatusCode"), request_id=request_id)
            raise ProofingUnavailable(f"VerifyBizLicenseEnterprise4 status {answer.get('StatusCode')}")
        flags = {key: answer.get(key) for key, _, _ in _ENTERPRISE_FLAGS}
        if any(not isinstance(flag, bool) for flag in flags.values()):
            log.warning("registry_provider_incomplete", request_id=request_id)
            raise ProofingUnavailable("VerifyBizLicenseEnterprise4 answered without its flags")
        for key, field, why in _ENTERPRISE_FLAGS:
            if flags[key] is False:
                log.info("registry_refused", field=field, request_id=request_id,
                         operating_status=answer.get("OperatingStatus"))
                return ProofingResult(False, field, why)
        return ProofingResult(True)


def tencent_registry(session: aiohttp.ClientSession, settings: IdentitySettings) -> TencentRegistry:
    """``ESEAL_REGISTRY_PROVIDER=tencent``: refuses to start without the account."""
    client = settings.tencent_client(session, "ESEAL_REGISTRY_PROVIDER", "ocr", "2018-11-19")
    return TencentRegistry(client)


# --- choosing ----------------------------------------------------------------------------------


def _chosen(choice: str | None, env: str, variable: str, *, sandbox: Callable[[], T],
            none: Callable[[], T], tencent: Callable[[], T] | None) -> T:
    """``variable``: sandbox | none | tencent (unset: sandbox, or none in production)."""
    chosen = (choice or "").strip() or ("none" if env == "production" else "sandbox")
    if chosen == "tencent":
        if tencent is None:
            raise RuntimeError(f"{variable}=tencent is not wired here")
        return tencent()
    if chosen == "sandbox":
        return sandbox()
    if chosen == "none":
        return none()
    raise RuntimeError(f"unknown {variable} {chosen!r} (sandbox | none | tencent)")


def realname_verifier(choice: str | None, env: str, rejected: str = "", *,
                      tencent: Callable[[], RealNameVerifier] | None = None) -> RealNameVerifier:
    """``ESEAL_REALNAME_PROVIDER``."""
    def sandbox() -> RealNameVerifier:
        return SandboxRealName(env, rejected)
    return _chosen(choice, env, "ESEAL_REALNAME_PROVIDER", sandbox=sandbox, none=NoRealName, tencent=tencent)


def business_registry(choice: str | None, env: str, rejected: str = "", *,
                      tencent: Callable[[], BusinessRegistry] | None = None) -> BusinessRegistry:
    """``ESEAL_REGISTRY_PROVIDER``."""
    def sandbox() -> BusinessRegistry:
        return SandboxRegistry(env, rejected)
    return _chosen(choice, env, "ESEAL_REGISTRY_PROVIDER", sandbox=sandbox, none=NoRegistry, tencent=tencent)
