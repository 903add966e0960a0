"""China Standard Time: the calendar that validity windows, birth dates and messages use.

China has had no daylight saving time since 1991, so a fixed UTC+8 offset needs no tz
database (the service images may have none).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["CHINA_TZ", "china_today", "today_in_china"]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_today(now: datetime) -> date:
    """The calendar date in China at instant ``now`` (timezone-aware)."""
    return now.astimezone(CHINA_TZ).date()


def today_in_china() -> date:
    """Today's date in China, read from the system clock (for code without an injected clock)."""
    return china_today(datetime.now(CHINA_TZ))
