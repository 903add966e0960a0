"""Signed HTTPS callbacks, for any service: the signature, the URL rule, a guarded sender.

The signature is the one stamping's callbacks carry (docs/API.md):
``X-Eseal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>``.
A receiver recomputes it over the raw body, compares in constant time, and refuses a ``t``
outside its replay window (``verify``, 300 s by default).

Private, loopback, link-local and reserved addresses are refused (unless allowed, as in
development): when the URL is registered (``check_url``) and again for every address its
name resolves to at delivery time (``GuardedSender``), so DNS rebinding does not help.
Redirects are not followed. Where private addresses are refused (production), so is
plain ``http``: ``GuardedSender`` sends to ``https`` URLs only (unless told otherwise, as
stamping's callbacks, whose relying systems may register ``http`` URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from .errors import ValidationFailed

SIGNATURE = "X-Eseal-Signature"
REPLAY_WINDOW = 300
URL_LIMIT = 2048


def signature(secret: str, body: bytes, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), b"%d." % stamp + body, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, window: int = REPLAY_WINDOW,
           now: float | None = None) -> bool:
    parts: dict[str, str] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts[key] = value
    if not parts.get("t", "").isdigit():
        return False
    stamp = int(parts["t"])
    if abs((time.time() if now is None else now) - stamp) > window:
        return False
    wanted = signature(secret, body, stamp).rsplit("=", 1)[1]
    return hmac.compare_digest(wanted, parts.get("v1", ""))


def private_address(host: str) -> bool:
    """True for an IP literal that is not a public unicast address (v4, v6, v4-mapped)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, field: str, allow_private: bool, https_only: bool = False) -> str:
    """The URL, if a callback may go there; else 422 ``validation_failed`` on ``field``."""
    def refuse(why: str) -> ValidationFailed:
        return ValidationFailed.field(field, why)

    if len(url) > URL_LIMIT:
        raise refuse(f"at most {URL_LIMIT} characters")
    try:
        parsed = urlsplit(url)
        port = parsed.port
    except ValueError:
        raise refuse("not a valid URL") from None
    schemes = ("https",) if https_only else ("http", "https")
    if parsed.scheme not in schemes:
        raise refuse("only " + " and ".join(schemes) + " URLs are allowed")
    host = (parsed.hostname or "").lower()
    if not host or port == 0:
        raise refuse("the URL has no host or an invalid port")
    if parsed.username is not None or parsed.password is not None:
        raise refuse("credentials in the URL are not allowed")
    if not allow_private and (host == "localhost" or host.endswith(".localhost")
                              or private_address(host)):
        raise refuse("private and loopback addresses are not allowed")
    return url


class _PublicResolver(AbstractResolver):
    """Resolves like the default resolver, but fails when any address is not public."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        for answer in answers:
            if private_address(answer["host"]):
                raise OSError(f"refused: {host} resolves to a private address")
        return answers

    async def close(self) -> None:
        await self._resolver.close()


class GuardedSender:
    """POSTs signed bodies; returns ``(delivered, what happened)``, never raises."""

    def __init__(self, *, allow_private: bool, timeout: float, https_only: bool | None = None,
                 connect_timeout: float | None = None) -> None:
        self.allow_private = allow_private
        # by default plain http only where private addresses are allowed (development)
        self.https_only = not allow_private if https_only is None else https_only
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=50, resolver=None if allow_private else _PublicResolver()),
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout))

    async def post(self, url: str, body: bytes, secret: str,
                   headers: dict[str, Any] | None = None) -> tuple[bool, str]:
        try:
            check_url(url, field="webhook_url", allow_private=self.allow_private,
                      https_only=self.https_only)
        except ValidationFailed as refused:
            return False, f"refused: {refused}"
        sent = {"Content-Type": "application/json", SIGNATURE: signature(secret, body),
                **(headers or {})}
        try:
            async with self._http.post(url, data=body, headers=sent, allow_redirects=False) as answer:
                await answer.read()
                return 200 <= answer.status < 300, f"HTTP {answer.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            return False, f"{type(failure).__name__}: {failure}"[:300]

    async def close(self) -> None:
        await self._http.close()
