"""Small pure rules: the usage-record window, callback URLs, request parameters."""

from __future__ import annotations

import calendar
import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from .errors import CallbackUrlRejected

USAGE_WINDOW_MONTHS = 3  # 页面保留近 3 个月的数据信息
MAX_TITLE = 200
MAX_URL = 2048


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


def is_private_address(host: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified (v4 or v6)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


def check_callback_url(url: str, *, allow_private: bool) -> str:
    """http(s) only, a host, no credentials; private addresses only when allowed.

    Names are resolved again at delivery time (a name may point anywhere later), where
    the same rule is applied to every address it resolves to.
    """
    def bad(message: str) -> CallbackUrlRejected:
        return CallbackUrlRejected("callback_url: " + message,
                                   errors=[{"field": "callback_url", "message": message}])

    if len(url) > MAX_URL:
        raise bad(f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad("only http and https URLs are allowed")
    if not parts.hostname:
        raise bad("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise bad("credentials in the URL are not allowed")
    if port == 0:
        raise bad("invalid port")
    if not allow_private:
        host = parts.hostname.lower()
        if host == "localhost" or host.endswith(".localhost") or is_private_address(host):
            raise bad("private and loopback addresses are not allowed")
    return url
