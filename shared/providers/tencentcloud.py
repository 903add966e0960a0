"""Tencent Cloud API 3.0: the TC3-HMAC-SHA256 request signature and a small JSON client.

The signature, as Tencent Cloud's "Signature v3" documentation specifies it (the tests check
it against the document's worked example):

1. ``CanonicalRequest = Method \\n "/" \\n Query \\n CanonicalHeaders \\n SignedHeaders \\n
   hex(sha256(payload))``; ``CanonicalHeaders`` is ``name:value\\n`` for each signed header,
   names and values lowercased and trimmed, in the order of ``SignedHeaders``
   (ASCII-sorted, ``;``-separated). This client signs ``content-type;host;x-tc-action``.
2. ``StringToSign = "TC3-HMAC-SHA256" \\n Timestamp \\n CredentialScope \\n
   hex(sha256(CanonicalRequest))`` with ``CredentialScope = Date/service/tc3_request`` and
   ``Date`` the UTC date of ``X-TC-Timestamp``.
3. ``SecretDate = HMAC("TC3" + SecretKey, Date)``, ``SecretService = HMAC(SecretDate,
   service)``, ``SecretSigning = HMAC(SecretService, "tc3_request")``,
   ``Signature = hex(HMAC(SecretSigning, StringToSign))``.
4. ``Authorization: TC3-HMAC-SHA256 Credential=SecretId/CredentialScope,
   SignedHeaders=..., Signature=...``, sent with ``X-TC-Action``, ``X-TC-Version``,
   ``X-TC-Timestamp`` and ``X-TC-Region``.

Answers are HTTP 200 with ``{"Response": {..., "RequestId"}}``; a refusal carries
``Response.Error.{Code, Message}`` (``AuthFailure.SignatureFailure`` for a wrong signature).

``TencentCloudClient.call`` adds what the adapters need around it: a timeout per attempt,
retries (every failure of an idempotent call that may be transient; for any other call only
a connection that never reached Tencent), errors as ``TencentCloudError`` (the API refused,
with its code) or ``TencentCloudUnavailable`` (no usable answer), metrics per call, and logs
that name the action, outcome and ``RequestId`` — never the parameters, headers or secrets.

Credentials come from settings (``TencentCloudSettings``): the environment or mounted files.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import Field, SecretStr
from yarl import URL

from ..logging import get_logger
from ..metrics import PROVIDER_CALLS, PROVIDER_FAILURES, PROVIDER_LATENCY
from ..settings import ServiceSettings

log = get_logger(__name__)

ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"
# Retried when the call is idempotent: Tencent's own transient refusals.
TRANSIENT_CODES = frozenset({"InternalError", "RequestLimitExceeded", "ResourceUnavailable",
                             "FailedOperation.RequestLimitExceeded"})


# --- the signature --------------------------------------------------------------------------

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(method: str, headers: Mapping[str, str], signed_headers: str,
                      payload: bytes, query: str = "") -> str:
    """``headers`` by lowercase name; every name of ``signed_headers`` must be there."""
    names = signed_headers.split(";")
    canonical_headers = "".join(f"{n}:{headers[n].strip().lower()}\n" for n in names)
    return "\n".join((method.upper(), "/", query, canonical_headers, signed_headers,
                      sha256_hex(payload)))


def credential_scope(timestamp: int, service: str) -> str:
    return f"{utc_date(timestamp)}/{service}/tc3_request"


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, str(timestamp), credential_scope(timestamp, service),
                      sha256_hex(canonical.encode("utf-8"))))


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    secret_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    secret_service = _hmac(secret_date, service)
    return _hmac(secret_service, "tc3_request")


def signature(secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    key = signing_key(secret_key, utc_date(timestamp), service)
    return hmac.new(key, string_to_sign(timestamp, service, canonical).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def authorization(secret_id: str, secret_key: str, service: str, timestamp: int,
                  headers: Mapping[str, str], payload: bytes,
                  signed_headers: str = SIGNED_HEADERS) -> str:
    canonical = canonical_request("POST", headers, signed_headers, payload)
    sig = signature(secret_key, timestamp, service, canonical)
    return (f"{ALGORITHM} Credential={secret_id}/{credential_scope(timestamp, service)}, "
            f"SignedHeaders={signed_headers}, Signature={sig}")


@dataclass(frozen=True)
class ParsedAuthorization:
    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """The parts of an ``Authorization`` header (for servers and tests); None if malformed."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        return None
    parts = dict(p.strip().partition("=")[::2] for p in rest.split(","))
    scope = parts.get("Credential", "").split("/")
    if len(scope) != 4 or scope[3] != "tc3_request" or not parts.get("SignedHeaders") \
            or not parts.get("Signature"):
        return None
    return ParsedAuthorization(scope[0], scope[1], scope[2], parts["SignedHeaders"],
                               parts["Signature"])


def host_of(url: URL) -> str:
    """The ``Host`` header a request to ``url`` carries (and signs)."""
    host = url.host or ""
    return host if url.is_default_port() else f"{host}:{url.port}"


# --- credentials and settings ---------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str = field(repr=False)


class TencentCloudSettings(ServiceSettings):
    """``ESEAL_TENCENT_*``: the account and endpoint of every Tencent Cloud adapter of a
    service. Secrets from the environment or from files (a mounted Kubernetes secret)."""

    tencent_secret_id: SecretStr | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_secret_id_file: Path | None = None
    tencent_secret_key_file: Path | None = None
    tencent_region: str = "ap-guangzhou"
    # Base URL instead of https://<service>.tencentcloudapi.com (tests: the local fake).
    tencent_endpoint: str | None = None
    tencent_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    tencent_retries: int = Field(default=2, ge=0, le=5)

    def _secret(self, name: str) -> str:
        value: SecretStr | None = getattr(self, f"tencent_{name}")
        path: Path | None = getattr(self, f"tencent_{name}_file")
        if value is not None and value.get_secret_value().strip():
            return value.get_secret_value().strip()
        if path is not None:
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError:
                return ""
        return ""

    def tencent_missing(self) -> list[str]:
        """The settings a Tencent Cloud adapter still needs (names only, never values)."""
        return [f"ESEAL_TENCENT_{n.upper()} (or ESEAL_TENCENT_{n.upper()}_FILE)"
                for n in ("secret_id", "secret_key") if not self._secret(n)]

    def tencent_credentials(self, port: str) -> Credentials:
        """The account; refuses to start (``RuntimeError``) when a secret is missing."""
        missing = self.tencent_missing()
        if missing:
            raise RuntimeError(f"{port}=tencent needs {' and '.join(missing)}")
        return Credentials(self._secret("secret_id"), self._secret("secret_key"))

    def tencent_problems(self, port: str) -> list[str]:
        problems = [f"{port}=tencent needs {m}" for m in self.tencent_missing()]
        if self.tencent_endpoint and URL(self.tencent_endpoint).scheme != "https":
            problems.append("ESEAL_TENCENT_ENDPOINT is not https")
        return problems

    def tencent_client(self, session: aiohttp.ClientSession, port: str, service: str,
                       version: str) -> TencentCloudClient:
        return TencentCloudClient(session, self.tencent_credentials(port), service=service,
                                  version=version, region=self.tencent_region,
                                  endpoint=self.tencent_endpoint,
                                  timeout=self.tencent_timeout_seconds, retries=self.tencent_retries)


# --- the client -----------------------------------------------------------------------------

class TencentCloudError(Exception):
    """Tencent Cloud answered and refused: ``code`` is its ``Response.Error.Code``."""

    def __init__(self, action: str, code: str, message: str, request_id: str | None) -> None:
        super().__init__(f"{action}: {code}: {message}")
        self.action, self.code, self.message, self.request_id = action, code, message, request_id


class TencentCloudUnavailable(Exception):
    """No usable answer (network, timeout, HTTP error, not JSON, transient refusals)."""


class _Transient(Exception):
    def __init__(self, reason: str, reached: bool, error: TencentCloudError | None = None) -> None:
        super().__init__(reason)
        self.reason, self.reached, self.error = reason, reached, error


class TencentCloudClient:
    """One Tencent Cloud product (``service``, ``version``) in one region."""

    provider = "tencent"

    def __init__(self, session: aiohttp.ClientSession, credentials: Credentials, *, service: str,
                 version: str, region: str, endpoint: str | None = None, timeout: float = 5.0,
                 retries: int = 2, backoff: float = 0.2,
                 clock: Callable[[], float] = time.time) -> None:
        self._session, self._credentials = session, credentials
        self.service, self.version, self.region = service, version, region
        self.url = URL(endpoint or f"https://{service}.tencentcloudapi.com").with_path("/")
        self._host = host_of(self.url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries, self._backoff, self._clock = retries, backoff, clock

    def describe(self) -> dict[str, str]:
        """For ``/readyz``: what is configured, never a secret."""
        return {"provider": self.provider, "service": self.service, "version": self.version,
                "region": self.region, "endpoint": str(self.url)}

    def headers(self, action: str, payload: bytes, timestamp: int) -> dict[str, str]:
        headers = {"content-type": CONTENT_TYPE, "host": self._host, "x-tc-action": action}
        auth = authorization(self._credentials.secret_id, self._credentials.secret_key,
                             self.service, timestamp, headers, payload)
        return {"Authorization": auth, "Content-Type": CONTENT_TYPE, "Host": self._host,
                "X-TC-Action": action, "X-TC-Version": self.version,
                "X-TC-Timestamp": str(timestamp), "X-TC-Region": self.region,
                "X-TC-RequestClient": "eseal"}

    async def call(self, action: str, params: Mapping[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """``Response`` of ``action``; see the module for what is retried."""
        payload = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = await self._once(action, payload)
            except _Transient as exc:
                self._observe(action, started, "failed", exc.reason)
                retry = (idempotent or not exc.reached) and attempt <= self._retries
                log.warning("provider_call_failed", provider=self.provider, service=self.service,
                            action=action, reason=exc.reason, attempt=attempt, retrying=retry)
                if retry:
                    await asyncio.sleep(self._backoff * attempt)
                    continue
                if exc.error is not None:
                    raise exc.error from None
                raise TencentCloudUnavailable(f"{self.service} {action}: {exc.reason}") from None
            except TencentCloudError as exc:
                self._observe(action, started, "refused", exc.code)
                log.warning("provider_call_refused", provider=self.provider, service=self.service,
                            action=action, code=exc.code, request_id=exc.request_id)
                raise
            self._observe(action, started, "ok", None)
            log.info("provider_call", provider=self.provider, service=self.service, action=action,
                     request_id=response.get("RequestId"), attempt=attempt)
            return response

    async def _once(self, action: str, payload: bytes) -> dict[str, Any]:
        headers = self.headers(action, payload, int(self._clock()))
        try:
            async with self._session.post(self.url, data=payload, headers=headers,
                                          timeout=self._timeout) as r:
                if r.status >= 500:
                    raise _Transient(f"http_{r.status}", reached=True)
                if r.status != 200:
                    raise _Transient(f"http_{r.status}", reached=True)
                try:
                    body = await r.json(content_type=None)
                except ValueError:
                    raise _Transient("not_json", reached=True) from None
        except aiohttp.ClientConnectorError:
            raise _Transient("connect", reached=False) from None
        except TimeoutError:
            raise _Transient("timeout", reached=True) from None
        except aiohttp.ClientError as exc:
            raise _Transient(type(exc).__name__, reached=True) from None
        response = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(response, dict):
            raise _Transient("no_response", reached=True)
        error = response.get("Error")
        if isinstance(error, dict):
            refused = TencentCloudError(action, str(error.get("Code", "")), str(error.get("Message", "")),
                                        response.get("RequestId"))
            if refused.code in TRANSIENT_CODES:
                raise _Transient(refused.code, reached=True, error=refused)
            raise refused
        return response

    def _observe(self, action: str, started: float, outcome: str, reason: str | None) -> None:
        labels = (self.provider, self.service, action)
        PROVIDER_CALLS.labels(*labels, outcome).inc()
        PROVIDER_LATENCY.labels(*labels).observe(time.monotonic() - started)
        if reason is not None:
            PROVIDER_FAILURES.labels(*labels, reason).inc()
