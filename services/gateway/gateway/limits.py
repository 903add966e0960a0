"""Rate limits on the endpoints people and robots hammer: login, face checks, SMS, stamping.

A token bucket per (rule, client). Buckets live in the gateway's memory: each replica limits
on its own, which bounds abuse per replica; the owning services keep their own hard limits
(account lockout, SMS resend interval, wrong-password counters) in their databases.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.errors import RateLimited


@dataclass(frozen=True)
class Rule:
    name: str
    method: str
    path: re.Pattern[str]
    capacity: int  # burst
    per_seconds: float  # time to refill the whole bucket

    @property
    def rate(self) -> float:
        return self.capacity / self.per_seconds


def default_rules(scale: float = 1.0) -> tuple[Rule, ...]:
    """``scale`` multiplies capacities (tests and load benchmarks raise it)."""
    def r(name: str, method: str, path: str, capacity: int, per: float) -> Rule:
        return Rule(name, method, re.compile(path), max(1, int(capacity * scale)), per)

    return (
        r("login", "POST", r"^/api/v1/sessions(/refresh)?$", 20, 60),
        r("face_check", "POST", r"^/api/v1/face-checks$", 20, 60),
        r("sms_code", "POST", r"^/api/v1/certificate/activation-codes$", 5, 60),
        r("stamp", "POST", r"^/api/v1/stamp-requests/[^/]+/stamp$", 30, 60),
        r("stamp_request", "POST", r"^/api/v1/stamp-requests$", 120, 60),
        r("scan", "POST", r"^/api/v1/scans$", 60, 60),
        r("register", "POST", r"^/api/v1/(persons|enterprises)$", 20, 60),
        r("verify", "POST", r"^/api/v1/verifications$", 30, 60),
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
TRUST_FORWARDED = web.AppKey("trust_forwarded", bool)


def client_address(request: web.Request) -> str:
    if request.app[TRUST_FORWARDED]:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or "unknown"


@web.middleware
async def rate_limit(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    limiter = request.app[LIMITER]
    rule = limiter.rule_for(request.method, request.path)
    if rule is not None:
        wait = limiter.take(rule, client_address(request))
        if wait > 0:
            raise RateLimited(f"too many requests ({rule.name}); try again in {int(wait) + 1} s",
                              retry_after=int(wait) + 1, limit=rule.name)
    return await handler(request)
