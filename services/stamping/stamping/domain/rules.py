"""Small pure rules: the usage-record window, callback URLs, request parameters."""

from __future__ import annotations

import calendar
from datetime import datetime

from shared import webhooks
from shared.errors import ValidationFailed

from .errors import CallbackUrlRejected

USAGE_WINDOW_MONTHS = 3  # 页面保留近 3 个月的数据信息
MAX_TITLE = 200


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall time ``months`` calendar months earlier (day clamped to the month)."""
    month0 = moment.month - 1 - months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def usage_window(now: datetime, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The listed range: never older than 3 months before ``now``; records are kept anyway."""
    earliest = months_before(now, USAGE_WINDOW_MONTHS)
    start = earliest if since is None or since < earliest else since
    end = now if until is None or until > now else until
    return start, end


def check_callback_url(url: str, *, allow_private: bool) -> str:
    """http(s) only, a host, no credentials; private addresses only when allowed.

    The rule of ``shared.webhooks.check_url`` (notify's webhooks keep it too), refused as
    ``callback_url_invalid``. Names are resolved again at delivery time (a name may point
    anywhere later), where the same rule is applied to every address it resolves to.
    """
    try:
        return webhooks.check_url(url, field="callback_url", allow_private=allow_private)
    except ValidationFailed as refused:
        raise CallbackUrlRejected(refused.detail, errors=refused.errors) from None
