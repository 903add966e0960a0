"""Signed callbacks to relying systems: the signature header and the retry schedule.

``X-Eseal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`` where the
key is the client's webhook secret (issued with the client). A receiver recomputes the
HMAC over the raw body, compares in constant time and refuses stale ``t`` (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time

SIGNATURE_HEADER = "X-Eseal-Signature"
EVENT_HEADER = "X-Eseal-Event"
DELIVERY_HEADER = "X-Eseal-Delivery"
DEFAULT_TOLERANCE = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """What a receiver does (also used by the tests)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def next_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential back-off with ±20 % jitter after ``attempts`` failed tries (1, 2, …)."""
    raw = min(cap, base * 2.0 ** max(0, attempts - 1))
    jitter: float = (rng or random).random()
    return raw * (0.8 + 0.4 * jitter)
