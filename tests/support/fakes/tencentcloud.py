"""A local Tencent Cloud API 3.0 server for tests: faceid (慧眼), sms and ocr's 企业四要素核验.

It checks every request's TC3-HMAC-SHA256 signature the way Tencent Cloud documents it —
recomputing the canonical request from the headers the request names in ``SignedHeaders``,
the string to sign and the derived key — and refuses as Tencent does, HTTP 200 with
``Response.Error.Code``: ``AuthFailure.SignatureFailure`` (wrong signature, scope or key),
``AuthFailure.SecretIdNotFound``, ``AuthFailure.SignatureExpire`` (timestamp off by more than
five minutes), ``AuthFailure.InvalidAuthorization`` (malformed header). The signature check
is written here from the documentation, not imported from the client it tests.

Actions and their scripted outcomes:

* ``DetectAuth`` → a ``BizToken`` and the H5 ``Url``; ``GetDetectInfoEnhanced`` answers what
  ``finish_face`` decided for that token (pending until then);
* ``IdCardVerification`` / ``PhoneVerification`` / ``CheckIdNameDate`` against ``people``;
* ``VerifyBizLicenseEnterprise4`` against ``enterprises``: ``StatusCode`` 0 and one
  ``Is…Consistent`` flag per element (every flag false for a USCC it does not know);
* ``SendSms`` → a ``SendStatusSet`` with a ``SerialNo`` per number, or the code of
  ``sms_failures[phone]``; every accepted message is kept in ``sms``;
* ``PullSmsSendStatus`` → the delivery reports (回执) not pulled yet, each once, at most
  ``Limit``: a message is reported delivered (``SUCCESS``/``DELIVRD``) unless
  ``sms_report_failures[phone]`` names the failure's description (``FAIL``).

The H5 page (``GET`` the ``DetectAuth`` ``Url``, ``/h5/<BizToken>``) stands for the person's
face capture: its buttons 本人验证通过 / 验证不通过 (``/h5/<BizToken>/pass|fail``) decide the
session's verdict as ``finish_face`` does, then send the browser to the ``RedirectUrl`` with
``token=<BizToken>`` appended, as Tencent Cloud does. ``start_in_thread()`` runs the fake in a
thread of its own, for a platform's processes whatever loop a test uses.

``refuse_next(action, code)`` makes the next call of an action fail with an API error and
``fail_next(action, status)`` with an HTTP status (both one-shot, queued).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.threaded_app import AppThread, serve

VERSIONS = {"faceid": "2018-03-01", "sms": "2021-01-11", "ocr": "2018-11-19"}
ACTIONS = {"DetectAuth": "faceid", "GetDetectInfoEnhanced": "faceid", "IdCardVerification": "faceid",
           "PhoneVerification": "faceid", "CheckIdNameDate": "faceid", "SendSms": "sms",
           "PullSmsSendStatus": "sms", "VerifyBizLicenseEnterprise4": "ocr"}


@dataclass
class Person:
    name: str
    id_card: str
    phone: str | None = None
    validity_begin: str | None = None  # YYYYMMDD
    validity_end: str | None = None  # YYYYMMDD or 00000000 (long-term)


@dataclass
class Enterprise:
    name: str
    uscc: str
    legal_representative: str
    legal_representative_id: str


@dataclass
class FaceSession:
    rule_id: str
    redirect_url: str
    name: str | None
    id_card: str | None
    result: dict[str, Any] | None = None  # DetectInfoText once finished


@dataclass
class Call:
    action: str
    params: dict[str, Any]
    headers: dict[str, str]


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(secret_key: str, request_headers: dict[str, str], signed_headers: str,
                       payload: bytes, timestamp: int, service: str) -> str:
    """The documented algorithm, step by step (Signature v3, steps 1-3)."""
    canonical_headers = "".join(f"{name}:{request_headers.get(name, '').strip().lower()}\n"
                                for name in signed_headers.split(";"))
    canonical = "POST\n/\n\n" + canonical_headers + "\n" + signed_headers + "\n" \
        + hashlib.sha256(payload).hexdigest()
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n" \
        + hashlib.sha256(canonical.encode()).hexdigest()
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeTencentCloud:
    keys: dict[str, str] = field(default_factory=lambda: {"AKIDfake": "fake-secret-key"})
    people: list[Person] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    faces: dict[str, FaceSession] = field(default_factory=dict)
    sms: list[dict[str, Any]] = field(default_factory=list)
    sms_failures: dict[str, str] = field(default_factory=dict)
    sms_report_failures: dict[str, str] = field(default_factory=dict)
    _reports: deque[dict[str, Any]] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the AuthFailure codes given
    _errors: dict[str, deque[tuple[str, str]]] = field(default_factory=lambda: defaultdict(deque))
    _http: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    _runner: web.AppRunner | None = None
    _thread: AppThread | None = None
    url: str = ""

    # --- scripting ----------------------------------------------------------------------

    def refuse_next(self, action: str, code: str, message: str = "scripted refusal") -> None:
        self._errors[action].append((code, message))

    def fail_next(self, action: str, status: int = 503) -> None:
        self._http[action].append(status)

    def finish_face(self, biz_token: str, *, passed: bool = True, name: str | None = None,
                    id_card: str | None = None) -> None:
        """The person finished the H5 flow: as the session's person unless told otherwise."""
        s = self.faces[biz_token]
        s.result = {"ErrCode": 0 if passed else 1001, "ErrMsg": "成功" if passed else "活体检测不通过",
                    "Name": name if name is not None else s.name,
                    "IdCard": id_card if id_card is not None else s.id_card,
                    "Sim": "95.00" if passed else "0.00"}

    # --- the server ---------------------------------------------------------------------

    async def __aenter__(self) -> FakeTencentCloud:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/", self._handle)
        app.router.add_get("/h5/{token}", self._h5_page)
        app.router.add_get("/h5/{token}/{verdict:pass|fail}", self._h5_finish)
        self._runner, port = await serve(app)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> FakeTencentCloud:
        self._thread = AppThread("fake-tencentcloud", self.start, self.stop).start("the fake Tencent Cloud")
        return self

    def stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.stop()

    # --- the H5 page ----------------------------------------------------------------------

    async def _h5_page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.faces:
            return web.Response(status=404, text="BizToken 无效")
        t = html.escape(token, quote=True)
        page = (f"<!doctype html><html lang=zh><head><meta charset=utf-8><title>慧眼人脸核身（测试）</title>"
                f"<link rel=icon href=\"data:,\">"
                f"</head><body><h1>人脸核身</h1>"
                f"<a id=pass data-test=tencent-pass href=/h5/{t}/pass>本人验证通过</a> "
                f"<a id=fail data-test=tencent-fail href=/h5/{t}/fail>验证不通过</a></body></html>")
        return web.Response(text=page, content_type="text/html")

    async def _h5_finish(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        session = self.faces.get(token)
        if session is None or not session.redirect_url:
            return web.Response(status=404, text="BizToken 无效")
        self.finish_face(token, passed=request.match_info["verdict"] == "pass")
        joiner = "&" if "?" in session.redirect_url else "?"
        raise web.HTTPFound(f"{session.redirect_url}{joiner}token={token}")

    async def _handle(self, request: web.Request) -> web.Response:
        payload = await request.read()
        action = request.headers.get("X-TC-Action", "")
        headers = {k.lower(): v for k, v in request.headers.items()}
        refusal = self._authenticate(headers, payload, action)
        if refusal is not None:
            self.refused.append(refusal[0])
            return self._error(*refusal)
        if action not in ACTIONS:
            return self._error("InvalidAction", f"unknown action {action}")
        if request.headers.get("X-TC-Version") != VERSIONS[ACTIONS[action]]:
            return self._error("NoSuchVersion", "the version does not exist")
        try:
            params = json.loads(payload)
        except ValueError:
            return self._error("InvalidParameter", "the body is not JSON")
        self.calls.append(Call(action, params, headers))
        if self._http[action]:
            return web.Response(status=self._http[action].popleft(), text="unavailable")
        if self._errors[action]:
            return self._error(*self._errors[action].popleft())
        handler = getattr(self, f"_{action}")
        result: dict[str, Any] = handler(params)
        if "Error" in result:
            return self._error(result["Error"]["Code"], result["Error"]["Message"])
        return web.json_response({"Response": {**result, "RequestId": str(uuid.uuid4())}})

    def _authenticate(self, headers: dict[str, str], payload: bytes,
                      action: str) -> tuple[str, str] | None:
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        parts = dict(p.strip().partition("=")[::2] for p in rest.split(",")) if rest else {}
        scope = parts.get("Credential", "").split("/")
        signed = parts.get("SignedHeaders", "")
        if algorithm != "TC3-HMAC-SHA256" or len(scope) != 4 or not signed or "Signature" not in parts:
            return "AuthFailure.InvalidAuthorization", "Authorization is malformed"
        if not {"content-type", "host"} <= set(signed.split(";")):
            return "AuthFailure.InvalidAuthorization", "content-type and host must be signed"
        secret_id, date, service, terminator = scope
        if secret_id not in self.keys:
            return "AuthFailure.SecretIdNotFound", "the SecretId does not exist"
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing"
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire", "the signature expired"
        if service != ACTIONS.get(action, service) or terminator != "tc3_request":
            return "AuthFailure.SignatureFailure", "the credential scope does not match the request"
        expected = expected_signature(self.keys[secret_id], headers, signed, payload, timestamp, service)
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") \
                or not hmac.compare_digest(expected, parts["Signature"]):
            return "AuthFailure.SignatureFailure", "the signature is wrong"
        return None

    @staticmethod
    def _error(code: str, message: str) -> web.Response:
        return web.json_response({"Response": {"Error": {"Code": code, "Message": message},
                                               "RequestId": str(uuid.uuid4())}})

    def _person(self, id_card: str) -> Person | None:
        return next((p for p in self.people if p.id_card.upper() == str(id_card).upper()), None)

    # --- faceid ---------------------------------------------------------------------------

    def _DetectAuth(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the action's name
        if not p.get("RuleId"):
            return {"Error": {"Code": "InvalidParameter.RuleId", "Message": "RuleId is required"}}
        token = str(uuid.uuid4()).upper()
        self.faces[token] = FaceSession(p["RuleId"], p.get("RedirectUrl", ""), p.get("Name"), p.get("IdCard"))
        return {"BizToken": token, "Url": f"{self.url}/h5/{token}"}

    def _GetDetectInfoEnhanced(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        s = self.faces.get(str(p.get("BizToken")))
        if s is None or s.rule_id != p.get("RuleId"):
            return {"Error": {"Code": "InvalidParameterValue.BizTokenExpired", "Message": "BizToken 无效"}}
        text = s.result or {"ErrCode": None, "ErrMsg": None, "Name": None, "IdCard": None}
        return {"Text": text}

    def _IdCardVerification(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        person = self._person(p.get("IdCard", ""))
        if person is None:
            return {"Result": "-5", "Description": "证件库中无此身份证记录"}
        if person.name != p.get("Name"):
            return {"Result": "-1", "Description": "姓名和身份证号不一致"}
        return {"Result": "0", "Description": "姓名和身份证号一致"}

    def _PhoneVerification(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        person = self._person(p.get("IdCard", ""))
        if person is None:
            return {"Result": "-9", "Description": "没有记录"}
        if person.name != p.get("Name") or person.phone != p.get("Phone"):
            return {"Result": "-4", "Description": "三要素信息不一致"}
        return {"Result": "0", "Description": "三要素信息一致", "Isp": "移动"}

    def _CheckIdNameDate(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        person = self._person(p.get("IdCard", ""))
        if person is None:
            return {"Result": "-7", "Description": "证件库中无此身份证记录"}
        if person.name != p.get("Name") or person.validity_begin != p.get("ValidityBegin") \
                or person.validity_end != p.get("ValidityEnd"):
            return {"Result": "-1", "Description": "不一致"}
        return {"Result": "0", "Description": "一致"}

    # --- ocr ------------------------------------------------------------------------------

    def _VerifyBizLicenseEnterprise4(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name in ("CreditCode", "EntName", "LrName", "IdNum"):
            if not p.get(name):
                return {"Error": {"Code": "InvalidParameter", "Message": f"{name} is required"}}
        e = next((e for e in self.enterprises if e.uscc == p["CreditCode"]), None)
        flags = {"IsCreditCodeConsistent": e is not None,
                 "IsEntNameConsistent": e is not None and e.name == p["EntName"],
                 "IsLrNameConsistent": e is not None and e.legal_representative == p["LrName"],
                 "IsIdNumConsistent": e is not None
                 and e.legal_representative_id.upper() == p["IdNum"].upper()}
        return {"StatusCode": 0, "VerifyResult": 1 if all(flags.values()) else 2,
                "OperatingStatus": "1" if e else "", **flags}

    # --- sms ------------------------------------------------------------------------------

    def _SendSms(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name in ("SmsSdkAppId", "TemplateId", "PhoneNumberSet"):
            if not p.get(name):
                return {"Error": {"Code": f"MissingParameter.{name}", "Message": f"{name} is required"}}
        statuses = []
        for phone in p["PhoneNumberSet"]:
            code = self.sms_failures.get(phone, "Ok")
            serial = f"2433:{uuid.uuid4().int % 10**20}" if code == "Ok" else ""
            statuses.append({"SerialNo": serial, "PhoneNumber": phone, "Fee": 1 if serial else 0,
                             "SessionContext": p.get("SessionContext", ""), "Code": code,
                             "Message": "send success" if code == "Ok" else "scripted failure",
                             "IsoCode": "CN"})
            if code == "Ok":
                self.sms.append({"phone": phone, "serial_no": serial, "template_id": p["TemplateId"],
                                 "params": list(p.get("TemplateParamSet") or []),
                                 "sign_name": p.get("SignName"), "sdk_app_id": p["SmsSdkAppId"],
                                 "session_context": p.get("SessionContext")})
                failure = self.sms_report_failures.get(phone)
                self._reports.append({
                    "UserReceiveTime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    "CountryCode": "86", "SubscriberNumber": phone.removeprefix("+86"),
                    "PhoneNumber": phone, "SerialNo": serial,
                    "ReportStatus": "FAIL" if failure else "SUCCESS",
                    "Description": failure or "DELIVRD",
                    "SessionContext": p.get("SessionContext", "")})
        return {"SendStatusSet": statuses}

    def _PullSmsSendStatus(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name in ("SmsSdkAppId", "Limit"):
            if not p.get(name):
                return {"Error": {"Code": f"MissingParameter.{name}", "Message": f"{name} is required"}}
        limit = int(p["Limit"])
        if not 1 <= limit <= 100:
            return {"Error": {"Code": "InvalidParameterValue.Limit", "Message": "Limit is 1..100"}}
        pulled = [self._reports.popleft() for _ in range(min(limit, len(self._reports)))]
        return {"PullSmsSendStatusSet": pulled}
