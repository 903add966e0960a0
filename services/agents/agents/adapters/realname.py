"""Real-name verification (实名核验) of an agent's identity elements, as a port.

A real provider (the public-security identity service) answers whether a name and an ID
number belong together. Adapters of ``service_layer.ports.RealNameVerifier``:

* ``SandboxRealName`` (development, test; refuses production) answers like a provider:
  - name ``不存在`` → no such person (field ``name``);
  - an ID number listed in ``ESEAL_SANDBOX_REALNAME_REJECT`` (comma-separated) → the name
    does not match the number (field ``id_number``);
  - for the four elements also: an entry ``validity:<ID number>`` → that card's validity
    dates do not match (field ``id_valid_from``); an entry ``phone:<phone>`` → the phone is
    not registered to that person (field ``phone``);
  - anything else that passed the format checks → verified.
* ``UnavailableRealName``: production until a real adapter is configured; adding an agent
  answers 503 ``realname_provider_unavailable``.
* ``TencentRealName`` (``ESEAL_REALNAME_PROVIDER=tencent``): Tencent Cloud 慧眼 (faceid
  2018-03-01) — two elements by ``IdCardVerification`` (name, ID number), three by
  ``PhoneVerification`` (name, ID number, phone) and the validity dates by
  ``CheckIdNameDate`` (name, ID number, validity begin and end: Tencent's own validity-date
  check, so the dates are checked at the source as well as by the local rules). ``verify``
  (the port) is the two-element check; ``verify_four`` runs the three in turn so that a
  failure names the kind of element that did not match (``name``, ``id_number``,
  ``id_valid_from``, ``phone``) and never the values on record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import aiohttp

from shared.logging import get_logger
from shared.providers.tencentcloud import TencentCloudClient, TencentCloudError, TencentCloudUnavailable

from ..domain.errors import RealNameProviderUnavailable
from ..service_layer.ports import IdentityElements, RealNameResult, RealNameVerifier

if TYPE_CHECKING:
    from ..config import AgentsSettings

log = get_logger(__name__)


class SandboxRealName:
    UNKNOWN_NAME = "不存在"

    def __init__(self, env: str, rejected_id_numbers: frozenset[str] = frozenset()) -> None:
        if env == "production":
            raise RuntimeError("the sandbox real-name verifier must not run with ESEAL_ENV=production")
        self.rejected = rejected_id_numbers

    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        if name == self.UNKNOWN_NAME:
            return RealNameResult(False, "name", "查无此人 / no such person")
        if id_number in self.rejected:
            return RealNameResult(False, "id_number",
                                  "姓名与证件号码不一致 / name and ID number do not match")
        return RealNameResult(True)

    async def verify_four(self, elements: IdentityElements) -> RealNameResult:
        verdict = await self.verify(elements.name, elements.id_type, elements.id_number)
        if verdict.verified and f"VALIDITY:{elements.id_number.upper()}" in self.rejected:
            return RealNameResult(False, "id_valid_from",
                                  "证件有效期与登记信息不一致 / the ID's validity dates do not match")
        if verdict.verified and f"PHONE:{elements.phone}" in self.rejected:
            return RealNameResult(False, "phone",
                                  "手机号码与身份信息不一致 / the phone is not registered to this person")
        return verdict


class UnavailableRealName:
    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        raise RealNameProviderUnavailable(
            "实名核验服务暂不可用 / no real-name verification provider is configured")

    async def verify_four(self, elements: IdentityElements) -> RealNameResult:
        return await self.verify(elements.name, elements.id_type, elements.id_number)


def realname_verifier(choice: str | None, env: str, rejected: str, *,
                      tencent: Callable[[], RealNameVerifier] | None = None) -> RealNameVerifier:
    """``ESEAL_REALNAME_PROVIDER`` (sandbox | none | tencent); unset: sandbox outside production."""
    choice = choice or ("none" if env == "production" else "sandbox")
    if choice == "tencent":
        if tencent is None:
            raise RuntimeError("ESEAL_REALNAME_PROVIDER=tencent is not wired here")
        return tencent()
    if choice == "sandbox":
        return SandboxRealName(env, frozenset(x.strip().upper() for x in rejected.split(",") if x.strip()))
    if choice == "none":
        return UnavailableRealName()
    raise RuntimeError(f"unknown real-name provider {choice!r}")


# --- Tencent Cloud 慧眼 ----------------------------------------------------------------------

_ONLY_ID_CARDS = "仅支持居民身份证 / only resident ID cards can be checked"
_UNAVAILABLE = "实名核验服务暂不可用 / the real-name verification service is unavailable"
_MISMATCH = "{what}与登记信息不一致 / the {en} does not match the identity records"

# Result codes of each action (Tencent's documentation): a mismatch names the kind of
# element; codes absent here (service errors, daily limits) mean the provider is unavailable.
_ID_CARD: Mapping[str, tuple[str, str]] = {
    "-1": ("id_number", "姓名与证件号码不一致 / name and ID number do not match"),
    "-2": ("id_number", "证件号码无效 / the ID number is not valid"),
    "-3": ("name", "姓名无效 / the name is not valid"),
    "-5": ("id_number", "查无此证件号码 / no identity record has this ID number"),
}
_VALIDITY: Mapping[str, tuple[str, str]] = {
    "-1": ("id_valid_from", _MISMATCH.format(what="证件有效期", en="ID validity period")),
    "-2": ("id_number", "证件号码无效 / the ID number is not valid"),
    "-3": ("name", "姓名无效 / the name is not valid"),
    "-4": ("id_valid_from", "证件有效期无效 / the ID validity period is not valid"),
    "-5": ("id_number", "身份信息无效 / the identity is not valid"),
    "-7": ("id_number", "查无此证件号码 / no identity record has this ID number"),
}
_PHONE: Mapping[str, tuple[str, str]] = {
    "-1": ("phone", _MISMATCH.format(what="手机号实名信息", en="phone's registered holder")),
    "-2": ("name", _MISMATCH.format(what="手机号实名姓名", en="phone's registered name")),
    "-3": ("id_number", _MISMATCH.format(what="手机号实名证件号码", en="phone's registered ID number")),
    "-4": ("phone", _MISMATCH.format(what="手机号实名信息", en="phone's registered holder")),
    "-5": ("phone", "手机号未实名登记 / the phone number is not registered to anyone"),
    "-6": ("phone", "手机号码无效 / the phone number is not valid"),
    "-7": ("id_number", "证件号码无效 / the ID number is not valid"),
    "-8": ("name", "姓名无效 / the name is not valid"),
    "-9": ("phone", "查无此手机号实名记录 / no registration record for this phone number"),
    "-10": ("phone", _MISMATCH.format(what="手机号实名信息", en="phone's registered holder")),
}


def _yyyymmdd(day: date | None) -> str:
    return "00000000" if day is None else day.strftime("%Y%m%d")  # None: long-term (长期)


class TencentRealName:
    """The real-name checks of Tencent Cloud 慧眼, as ``RealNameResult``s."""

    name = "tencent"

    def __init__(self, client: TencentCloudClient) -> None:
        self._client = client

    def describe(self) -> dict[str, str]:
        return self._client.describe()

    async def _check(self, action: str, params: dict[str, Any],
                     refusals: Mapping[str, tuple[str, str]]) -> RealNameResult:
        try:
            # A check changes nothing at Tencent: safe to repeat after a transient failure.
            response = await self._client.call(action, params, idempotent=True)
        except (TencentCloudError, TencentCloudUnavailable) as exc:
            raise RealNameProviderUnavailable(_UNAVAILABLE) from exc
        result = str(response.get("Result", ""))
        if result == "0":
            return RealNameResult(True)
        if result in refusals:
            field, reason = refusals[result]
            log.info("realname_refused", action=action, result=result, field=field,
                     request_id=response.get("RequestId"))
            return RealNameResult(False, field, reason)
        log.warning("realname_provider_failed", action=action, result=result,
                    request_id=response.get("RequestId"))
        raise RealNameProviderUnavailable(_UNAVAILABLE)

    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        """Two elements: ``IdCardVerification``."""
        if id_type != "resident_id_card":
            return RealNameResult(False, "id_type", _ONLY_ID_CARDS)
        return await self._check("IdCardVerification", {"IdCard": id_number, "Name": name}, _ID_CARD)

    async def verify_phone(self, name: str, id_type: str, id_number: str, phone: str) -> RealNameResult:
        """Three elements: ``PhoneVerification``."""
        if id_type != "resident_id_card":
            return RealNameResult(False, "id_type", _ONLY_ID_CARDS)
        return await self._check("PhoneVerification", {"IdCard": id_number, "Name": name, "Phone": phone},
                                 _PHONE)

    async def verify_validity(self, name: str, id_number: str, valid_from: date,
                              valid_to: date | None) -> RealNameResult:
        """Name, ID number and validity dates: ``CheckIdNameDate`` (``valid_to`` None: 长期)."""
        return await self._check("CheckIdNameDate", {
            "Name": name, "IdCard": id_number, "ValidityBegin": _yyyymmdd(valid_from),
            "ValidityEnd": _yyyymmdd(valid_to)}, _VALIDITY)

    async def verify_four(self, elements: IdentityElements) -> RealNameResult:
        """All four elements, one kind at a time, so a refusal names the kind that failed:
        name and ID number, then the validity dates, then the phone."""
        e = elements
        verdict = await self.verify(e.name, e.id_type, e.id_number)
        if verdict.verified:
            verdict = await self.verify_validity(e.name, e.id_number, e.id_valid_from, e.id_valid_to)
        if verdict.verified:
            verdict = await self.verify_phone(e.name, e.id_type, e.id_number, e.phone)
        return verdict


def tencent_realname(session: aiohttp.ClientSession, settings: AgentsSettings) -> TencentRealName:
    """``ESEAL_REALNAME_PROVIDER=tencent``: refuses to start without the account."""
    client = settings.tencent_client(session, "ESEAL_REALNAME_PROVIDER", "faceid", "2018-03-01")
    return TencentRealName(client)
