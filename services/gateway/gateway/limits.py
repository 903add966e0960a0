"""Rate limits on the endpoints people and robots hammer: login, face checks, SMS, stamping.

A token bucket per (rule, client). Buckets live in the gateway's memory: each replica limits
on its own, which bounds abuse per replica; the owning services keep their own hard limits
(account lockout, SMS resend interval, wrong-password counters) in their databases.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.errors import RateLimited
from shared.paths import CHECKED_PATH


@dataclass(frozen=True)
class Rule:
    name: str
    method: str
    path: re.Pattern[str]
    capacity: int  # burst
    per_seconds: float  # time to refill the whole bucket
    per_client_id: bool = False  # also one bucket per relying system (HTTP Basic client id)

    @property
    def rate(self) -> float:
        return self.capacity / self.per_seconds


def default_rules(scale: float = 1.0) -> tuple[Rule, ...]:
    """``scale`` multiplies capacities (tests and load benchmarks raise it)."""
    def r(name: str, method: str, path: str, capacity: int, per: float, *,
          per_client_id: bool = False) -> Rule:
        return Rule(name, method, re.compile(path), max(1, int(capacity * scale)), per,
                    per_client_id)

    return (
        r("login", "POST", r"^/api/v1/sessions(/refresh|/oidc/start|/oidc/callback)?$", 20, 60),
        r("face_check", "POST", r"^/api/v1/face-checks$", 20, 60),
        # Each answer may cost a call to the face provider (a page polls it while pending).
        r("face_result", "POST", r"^/api/v1/face-checks/[^/]+/result$", 60, 60),
        r("sms_code", "POST", r"^/api/v1/certificate/activation-codes$", 5, 60),
        # a batch's stamp, creation and scan share the single request's buckets (issue 15)
        r("stamp", "POST", r"^/api/v1/stamp-(requests|batches)/[^/]+/stamp$", 30, 60),
        r("stamp_request", "POST", r"^/api/v1/stamp-(requests|batches)$", 120, 60),
        r("scan", "POST", r"^/api/v1/(scans|stamp-batches/scans)$", 60, 60),
        r("register", "POST", r"^/api/v1/(persons|enterprises)$", 20, 60),
        r("verify", "POST", r"^/api/v1/verifications$", 30, 60),
        # Each try costs an Argon2 hash: per address, and per client id from any address
        # (relying systems' and subscribers' client credentials alike).
        r("oauth_token", "POST", r"^/api/v1/(oauth|subscriptions)/token$", 20, 60, per_client_id=True),
    )


class RateLimiter:
    def __init__(self, rules: tuple[Rule, ...], clock: Callable[[], float] = time.monotonic) -> None:
        self.rules, self.clock = rules, clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, updated)

    def rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.method == method and rule.path.match(path):
                return rule
        return None

    def take(self, rule: Rule, client: str) -> float:
        """Take one token; returns 0 if allowed, else seconds until a token is back."""
        now = self.clock()
        tokens, updated = self._buckets.get((rule.name, client), (float(rule.capacity), now))
        tokens = min(rule.capacity, tokens + (now - updated) * rule.rate)
        if tokens < 1:
            self._buckets[(rule.name, client)] = (tokens, now)
            return (1 - tokens) / rule.rate
        self._buckets[(rule.name, client)] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        rates = {r.name: r for r in self.rules}
        for key, (tokens, updated) in list(self._buckets.items()):
            rule = rates[key[0]]
            if tokens + (now - updated) * rule.rate >= rule.capacity:
                del self._buckets[key]


LIMITER = web.AppKey("rate_limiter", RateLimiter)
# Where buckets are taken: the replica's memory, or Redis shared by all replicas.
TakeToken = Callable[[Rule, str], Awaitable[float]]
BUCKETS: web.AppKey[TakeToken] = web.AppKey("rate_buckets")


def local_buckets(limiter: RateLimiter) -> TakeToken:
    async def take(rule: Rule, client: str) -> float:
        return limiter.take(rule, client)
    return take
TRUSTED_PROXIES = web.AppKey("trusted_proxies", int)


def client_address(request: web.Request) -> str:
    """The address of whoever connected to the first proxy we trust.

    Each proxy appends the address it saw to X-Forwarded-For; everything left of what our
    ``trusted`` proxies wrote is the client's own claim. So, with the socket peer as the
    last hop, the client is the entry ``trusted`` hops from the right (0: the peer itself).
    """
    trusted = request.app[TRUSTED_PROXIES]
    peer = request.remote or "unknown"
    if trusted <= 0:
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    chain = [h for h in hops if h] + [peer]
    index = max(0, len(chain) - 1 - trusted)
    for candidate in chain[index:]:  # malformed: the next hop to the right, one we trust
        if _is_address(candidate):
            return candidate
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def basic_client_id(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, _ = decoded.partition(":")
    return client_id[:200] if sep and client_id else None


@web.middleware
async def rate_limit(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    limiter = request.app[LIMITER]
    rule = limiter.rule_for(request.method, request.get(CHECKED_PATH) or request.path)
    if rule is not None:
        take = request.app[BUCKETS]
        wait = await take(rule, client_address(request))
        if wait == 0 and rule.per_client_id and (client_id := basic_client_id(request)):
            wait = await take(rule, "client_id:" + client_id)
        if wait > 0:
            raise RateLimited(f"too many requests ({rule.name}); try again in {int(wait) + 1} s",
                              retry_after=int(wait) + 1, limit=rule.name)
    return await handler(request)
