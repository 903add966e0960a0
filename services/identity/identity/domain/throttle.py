"""Fixed-window counting for login rate limits (pure: the store keeps the counters).

Two keys are counted for each login attempt (see identity/README.md):
* the username (role + username): every attempt, so one account cannot be hammered;
* the client IP: failed attempts only, because many honest users share one address behind
  carrier-grade NAT, while credential stuffing from one host fails a lot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` counted events per ``seconds``-long window."""

    limit: int
    seconds: int

    def start(self, now: datetime) -> datetime:
        elapsed = int((now - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=elapsed - elapsed % self.seconds)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window in force ends (at least 1)."""
        end = self.start(now) + timedelta(seconds=self.seconds)
        return max(1, int((end - now).total_seconds() + 0.999))

    def exceeded(self, count: int) -> bool:
        return count > self.limit
