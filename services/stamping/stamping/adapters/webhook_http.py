"""Delivery of callbacks over HTTP, refusing private addresses unless allowed.

The URL was checked when the request was made, but a name may resolve anywhere later
(DNS rebinding), so the connector's resolver re-checks every address it is about to use.
Redirects are not followed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ..domain import rules


class PrivateAddressRefused(OSError):
    pass


class PublicOnlyResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(rules.is_private_address(r["host"]) for r in results):
            raise PrivateAddressRefused(f"{host} resolves to a private address")
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    detail: str


class WebhookSender:
    def __init__(self, *, allow_private: bool, timeout: float) -> None:
        self.allow_private = allow_private
        connector = aiohttp.TCPConnector(
            limit=50, resolver=None if allow_private else PublicOnlyResolver())
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=min(5.0, timeout)))

    async def send(self, url: str, body: bytes, headers: dict[str, Any]) -> DeliveryOutcome:
        try:
            rules.check_callback_url(url, allow_private=self.allow_private)
        except Exception as e:  # noqa: BLE001 - a refused URL is a permanent delivery failure
            return DeliveryOutcome(False, f"refused: {e}")
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as r:
                await r.read()
                if 200 <= r.status < 300:
                    return DeliveryOutcome(True, f"HTTP {r.status}")
                return DeliveryOutcome(False, f"HTTP {r.status}")
        except PrivateAddressRefused as e:
            return DeliveryOutcome(False, f"refused: {e}")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return DeliveryOutcome(False, f"{type(e).__name__}: {e}"[:300])

    async def close(self) -> None:
        await self._session.close()
