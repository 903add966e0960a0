"""Subscribers' pure rules: names, slugs, event types, routing keys, retry schedule.

The queue and broker user of a subscriber are ``sub.<slug>``. The name is free text
(``某某系统``), but queue and user names must stay ASCII and predictable in regexes, so
the slug is given by ops (``--slug``) or derived: the name's ASCII letters and digits
(``Archive System 2`` → ``archive-system-2``), else ``s`` + the first 12 hex digits of the
subscriber id (a Chinese name → ``s3f9a1c2b4d5e``).
"""

from __future__ import annotations

import re
import uuid

from shared.event_feed import public_types

MAX_NAME = 100
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"the name must have 1 to {MAX_NAME} characters")
    return name


def slug_for(name: str, subscriber_id: uuid.UUID, given: str | None = None) -> str:
    if given is not None:
        if not SLUG.match(given):
            raise ValueError("--slug: 2 to 40 of a-z, 0-9 and '-', starting with a letter or digit")
        return given
    ascii_words = re.findall(r"[a-z0-9]+", name.lower())
    derived = "-".join(ascii_words)[:40].strip("-")
    return derived if SLUG.match(derived) else "s" + subscriber_id.hex[:12]


def event_types(text: str) -> list[str]:
    """``SealIssued,SealRevoked`` → the sorted public types; unknown or private ones refused."""
    known = public_types()
    names = sorted({t.strip() for t in text.split(",") if t.strip()})
    if not names:
        raise ValueError("--events: name at least one public event type")
    unknown = [t for t in names if t not in known]
    if unknown:
        raise ValueError(f"--events: not public event types: {', '.join(unknown)}"
                         f" (known: {', '.join(known)})")
    return names


def routing_keys(types: list[str]) -> list[str]:
    known = public_types()
    return [f"{known[t]}.{t}" for t in types]


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling, capped."""
    return float(min(cap, base * 2 ** min(max(attempts - 1, 0), 30)))
