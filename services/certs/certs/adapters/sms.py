"""Sending SMS: adapters of the ``SmsSender`` port (``service_layer/ports.py``): the sandbox
adapter (messages kept in certs' database and read back through ``GET /api/v1/sandbox/sms``)
and an HTTP adapter for a real SMS gateway.

The sandbox adapter refuses production; so does the sandbox endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import asyncpg

from shared.errors import ServiceUnavailable


class SandboxSms:
    """Records messages instead of sending them (development and tests only)."""

    def __init__(self, pool: asyncpg.Pool, *, production: bool) -> None:
        if production:
            raise RuntimeError("the sandbox SMS adapter must not run with ESEAL_ENV=production")
        self._pool = pool

    async def send(self, phone: str, text: str, sent_at: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("INSERT INTO sandbox_sms (phone, text, sent_at) VALUES ($1, $2, $3)",
                               phone, text, sent_at)

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

    async def send(self, phone: str, text: str, sent_at: datetime) -> None:
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
