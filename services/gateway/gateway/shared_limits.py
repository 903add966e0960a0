"""Rate-limit buckets kept in Redis, shared by every gateway replica (``ESEAL_REDIS_URL``).

With buckets in memory, N replicas allow N times the configured rate, and a client that
lands on another replica starts afresh. One token bucket per (rule, client) lives in Redis,
taken atomically by a Lua script on Redis' own clock (replicas' clocks may disagree). If
Redis cannot be reached the replica falls back to its in-memory buckets (limits per replica,
logged) rather than refusing every request or letting everything through.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from shared.logging import get_logger

from .limits import RateLimiter, Rule

log = get_logger(__name__)

# KEYS[1] bucket; ARGV capacity, refill rate per second. Returns the wait in seconds (0: taken).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1]) or capacity
local updated = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


class SharedBuckets:
    def __init__(self, url: str, prefix: str, fallback: RateLimiter) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        self._prefix, self._fallback = prefix, fallback
        self._degraded = False

    async def take(self, rule: Rule, client: str) -> float:
        """0 if a token was taken, else seconds until one is back."""
        try:
            wait = float(await self._take(keys=[f"{self._prefix}{rule.name}:{client}"],
                                          args=[rule.capacity, rule.rate]))
        except (RedisError, OSError) as exc:
            if not self._degraded:
                log.warning("rate_limits_local", reason=type(exc).__name__,
                            detail="Redis unreachable: limits are per replica until it is back")
                self._degraded = True
            return self._fallback.take(rule, client)
        if self._degraded:
            log.info("rate_limits_shared_again")
            self._degraded = False
        return wait

    async def close(self) -> None:
        await self._redis.aclose()


SHARED_BUCKETS = web.AppKey("shared_rate_buckets", SharedBuckets)
