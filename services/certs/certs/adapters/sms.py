"""Sending SMS: adapters of the ``SmsSender`` port (``service_layer/ports.py``): the sandbox
adapter (messages kept in certs' database and read back through ``GET /api/v1/sandbox/sms``),
an HTTP adapter for a generic SMS gateway, and Tencent Cloud SMS (``TencentSms``).

The sandbox adapter refuses production; so does the sandbox endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg

from shared.db import keeps_session_state
from shared.errors import ServiceUnavailable
from shared.logging import get_logger
from shared.metrics import PROVIDER_FAILURES, SMS_DELIVERY
from shared.people.elements import mask
from shared.providers.tencentcloud import (
    TencentCloudClient,
    TencentCloudError,
    TencentCloudUnavailable,
)

from ..service_layer.activation import SMS_TEXT
from ..service_layer.expiry import SMS_TEXT as EXPIRY_REMINDER_TEXT
from ..service_layer.reissue import SMS_TEXTS as REISSUE_TEXTS

if TYPE_CHECKING:
    from ..config import CertsSettings

log = get_logger(__name__)


class SandboxSms:
    """Records messages instead of sending them (development and tests only)."""

    def __init__(self, pool: asyncpg.Pool, *, production: bool) -> None:
        if production:
            raise RuntimeError("the sandbox SMS adapter must not run with ESEAL_ENV=production")
        self._pool = pool

    async def send(self, phone: str, text: str, sent_at: datetime) -> str | None:
        async with self._pool.acquire() as conn:
            await conn.execute("INSERT INTO sandbox_sms (phone, text, sent_at) VALUES ($1, $2, $3)",
                               phone, text, sent_at)
        return None

    async def messages(self, phone: str, limit: int = 50) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT phone, text, sent_at FROM sandbox_sms WHERE phone = $1"
                " ORDER BY id DESC LIMIT $2", phone, limit)
        return [dict(r) for r in rows]


class HttpSmsGateway:
    """A provider reached over HTTPS: ``POST {url}`` ``{"phone", "text"}`` with a bearer key.

    The slot for the province's SMS platform; its exact protocol is configured there.
    """

    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str,
                 timeout: float = 5.0) -> None:
        self._session, self._url, self._key = session, url, api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, phone: str, text: str, sent_at: datetime) -> str | None:
        try:
            async with self._session.post(
                self._url, json={"phone": phone, "text": text},
                headers={"Authorization": f"Bearer {self._key}"}, timeout=self._timeout,
            ) as r:
                if r.status >= 300:
                    raise ServiceUnavailable("the SMS service refused the message",
                                             code="sms_unavailable")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ServiceUnavailable("the SMS service is unavailable",
                                     code="sms_unavailable") from exc
        return None


# --- Tencent Cloud SMS (SendSms, API 2021-01-11) --------------------------------------------

# Each kind of message certs sends, as the text the service layer writes. Tencent sends only
# approved templates: the template of a kind has the kind's fields as {1}, {2}... in this
# order, and the sign name (签名) is sent apart, so the template leaves out 【...】.
# Every message certs sends has its template: a kind without one could not be sent at all.
MESSAGE_KINDS: dict[str, str] = {"activation_code": SMS_TEXT,
                                 "reset_code": REISSUE_TEXTS["reset"],
                                 "renewal_code": REISSUE_TEXTS["renewal"],
                                 "expiry_reminder": EXPIRY_REMINDER_TEXT}


def _pattern(text_format: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regular expression reading a formatted text back into its fields (in order)."""
    parts, fields = [], []
    for literal, name, _, _ in string.Formatter().parse(text_format):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
            fields.append(name)
    return re.compile("".join(parts) + r"\Z", re.DOTALL), tuple(fields)


_KINDS = {kind: _pattern(text) for kind, text in MESSAGE_KINDS.items()}


def message_kind(text: str) -> tuple[str, list[str]] | None:
    """The kind of a text and its template parameters, or None if no kind writes it."""
    for kind, (pattern, fields) in _KINDS.items():
        if match := pattern.match(text):
            return kind, [match.group(f) for f in fields]
    return None


def e164(phone: str) -> str:
    """Tencent wants +[country][number]; the platform's phones are mainland numbers."""
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSms:
    """``SendSms`` with the kind's template, the sign name and the SDK app id.

    A retry after a timeout or a transient refusal sends the same text (the same code) with
    the same ``SessionContext``, which Tencent returns in the status and the delivery
    receipts: a duplicate is recognisable and never carries a different code. The provider's
    message id (``SerialNo``) is logged with the session context; a number Tencent did not
    accept (its ``Code`` in ``SendStatusSet`` is not ``Ok``) is a delivery failure: logged,
    counted in ``eseal_provider_failures_total`` and answered 503 ``sms_unavailable``.
    """

    name = "tencent"

    def __init__(self, client: TencentCloudClient, *, sdk_app_id: str, sign_name: str,
                 templates: Mapping[str, str], deliveries: SmsDeliveries | None = None) -> None:
        missing = [k for k in MESSAGE_KINDS if not templates.get(k)]
        if missing:
            raise RuntimeError(f"ESEAL_SMS_PROVIDER=tencent needs a template id for {', '.join(missing)}")
        self._client, self._app, self._sign = client, sdk_app_id, sign_name
        self._templates = dict(templates)
        self.deliveries = deliveries

    def describe(self) -> dict[str, str]:
        return {**self._client.describe(), "sdk_app_id": self._app, "sign_name": self._sign}

    async def send(self, phone: str, text: str, sent_at: datetime) -> str | None:
        found = message_kind(text)
        if found is None:
            log.error("sms_kind_unknown", phone_masked=mask(phone))
            raise ServiceUnavailable("no SMS template for this message", code="sms_unavailable")
        kind, params = found
        # Random, not derived from the text: it is logged, and the text holds the code.
        context = str(uuid.uuid4())
        request = {"PhoneNumberSet": [e164(phone)], "SmsSdkAppId": self._app, "SignName": self._sign,
                   "TemplateId": self._templates[kind], "TemplateParamSet": params,
                   "SessionContext": context}
        try:
            response = await self._client.call("SendSms", request, idempotent=True)
        except (TencentCloudError, TencentCloudUnavailable) as exc:
            raise ServiceUnavailable("the SMS service is unavailable", code="sms_unavailable") from exc
        statuses = response.get("SendStatusSet") or [{}]
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code != "Ok":
            PROVIDER_FAILURES.labels("tencent", "sms", "SendSms", code or "no_status").inc()
            log.warning("sms_not_delivered", kind=kind, phone_masked=mask(phone), code=code,
                        session_context=context, request_id=response.get("RequestId"))
            raise ServiceUnavailable("the SMS service did not accept the message",
                                     code="sms_unavailable", provider_code=code)
        serial = str(status.get("SerialNo", ""))
        log.info("sms_sent", kind=kind, phone_masked=mask(phone), serial_no=serial,
                 session_context=context, request_id=response.get("RequestId"))
        if self.deliveries is None or not serial:
            return None
        await self.deliveries.record(serial, kind, mask(phone), sent_at)
        return serial

    async def pull_statuses(self, limit: int = 100) -> list[dict[str, Any]]:
        """``PullSmsSendStatus``: the delivery reports (回执) not pulled before, at most
        ``limit`` (Tencent's maximum is 100). Tencent hands each report out once."""
        response = await self._client.call(
            "PullSmsSendStatus", {"Limit": min(limit, 100), "SmsSdkAppId": self._app}, idempotent=True)
        return list(response.get("PullSmsSendStatusSet") or [])

    async def pull_once(self, limit: int = 100) -> int:
        """Pulls the reports and applies them; the number of reports applied.

        Across replicas only one pulls at a time (an advisory lock held for the pull): Tencent
        gives a report once, so a pull that lost its reports would lose them for good. Applying
        a report is idempotent (a row leaves ``sent`` once): the metric and the log count each
        message once whatever happens twice."""
        if self.deliveries is None:
            return 0
        async with self.deliveries.pull_lock() as locked:
            if not locked:
                return 0
            applied = 0
            for report in await self.pull_statuses(limit):
                serial = str(report.get("SerialNo", ""))
                delivered = str(report.get("ReportStatus", "")).upper() == "SUCCESS"
                code = str(report.get("Description") or report.get("ReportStatus") or "")
                row = await self.deliveries.report(serial, delivered=delivered, code=code,
                                                   description=str(report.get("Description") or ""))
                if row is None:
                    continue
                applied += 1
                outcome = "delivered" if delivered else "failed"
                SMS_DELIVERY.labels(outcome).inc()
                if delivered:
                    log.info("sms_delivered", kind=row["kind"], phone_masked=row["phone_masked"],
                             serial_no=serial)
                else:
                    log.warning("sms_delivery_failed", kind=row["kind"],
                                phone_masked=row["phone_masked"], serial_no=serial, report_code=code)
            return applied


_PULL_LOCK = 0x65_53_4D_53  # "eSMS": one replica pulls delivery reports at a time


class SmsDeliveries:
    """Each SMS sent (``sms_deliveries``): its kind, masked phone, ``SerialNo`` and report."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, serial_no: str, kind: str, phone_masked: str, sent_at: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO sms_deliveries (serial_no, kind, phone_masked, sent_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (serial_no) DO NOTHING",
                serial_no, kind, phone_masked, sent_at)

    async def report(self, serial_no: str, *, delivered: bool, code: str,
                     description: str) -> asyncpg.Record | None:
        """Marks a sent message delivered or failed; None if unknown or already reported."""
        async with self._pool.acquire() as conn:
            return await conn.fetchrow(
                "UPDATE sms_deliveries SET status = $2, report_code = $3, report_description = $4,"
                " reported_at = $5 WHERE serial_no = $1 AND status = 'sent'"
                " RETURNING kind, phone_masked",
                serial_no, "delivered" if delivered else "failed", code, description,
                datetime.now(UTC))

    async def get(self, serial_no: str) -> asyncpg.Record | None:
        async with self._pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM sms_deliveries WHERE serial_no = $1", serial_no)

    @contextlib.asynccontextmanager
    async def pull_lock(self) -> Any:
        async with self._pool.acquire() as conn:
            keeps_session_state(conn)  # a session-level lock: reset on release whatever happens
            locked = await conn.fetchval("SELECT pg_try_advisory_lock($1)", _PULL_LOCK)
            try:
                yield locked
            finally:
                if locked:
                    await conn.execute("SELECT pg_advisory_unlock($1)", _PULL_LOCK)


async def run_delivery_pulls(sender: TencentSms, interval: float) -> None:
    """The background job: pulls delivery reports every ``interval`` seconds."""
    while True:
        try:
            await sender.pull_once()
        except (TencentCloudError, TencentCloudUnavailable, asyncpg.PostgresError, OSError) as exc:
            log.warning("sms_delivery_pull_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


def tencent_sms(session: aiohttp.ClientSession, settings: CertsSettings,
                deliveries: SmsDeliveries | None = None) -> TencentSms:
    """``ESEAL_SMS_PROVIDER=tencent``: refuses to start without its account and templates."""
    client = settings.tencent_client(session, "ESEAL_SMS_PROVIDER", "sms", "2021-01-11")
    missing = settings.tencent_sms_missing()
    if missing:
        raise RuntimeError(f"ESEAL_SMS_PROVIDER=tencent needs {', '.join(missing)}")
    assert settings.tencent_sms_sdk_app_id and settings.tencent_sms_sign_name
    return TencentSms(client, sdk_app_id=settings.tencent_sms_sdk_app_id,
                      sign_name=settings.tencent_sms_sign_name,
                      templates={kind: getattr(settings, f"tencent_sms_template_{kind}") or ""
                                 for kind in MESSAGE_KINDS},
                      deliveries=deliveries)
