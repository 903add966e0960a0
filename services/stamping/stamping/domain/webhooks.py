"""Signed callbacks to relying systems: the signature header and the retry schedule.

``X-Eseal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`` where the
key is the client's webhook secret (issued with the client): the signature of
``shared.webhooks``, which signs notify's webhooks too. A receiver recomputes the HMAC over
the raw body, compares in constant time and refuses stale ``t`` (replays).
"""

from __future__ import annotations

import random

from shared import webhooks

SIGNATURE_HEADER = webhooks.SIGNATURE
EVENT_HEADER = "X-Eseal-Event"
DELIVERY_HEADER = "X-Eseal-Delivery"
DEFAULT_TOLERANCE = webhooks.REPLAY_WINDOW

sign = webhooks.signature


def verify(secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """What a receiver does (also used by the tests)."""
    return webhooks.verify(secret, body, header, window=tolerance, now=now)


def next_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential back-off with ±20 % jitter after ``attempts`` failed tries (1, 2, …)."""
    raw = min(cap, base * 2.0 ** max(0, attempts - 1))
    jitter: float = (rng or random).random()
    return raw * (0.8 + 0.4 * jitter)
