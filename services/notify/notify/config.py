"""Settings of the notify service (``ESEAL_*`` environment variables).

Customer service (客服中心), shown by ``GET /api/v1/support``:
- ``ESEAL_SUPPORT_PHONE``    default ``0431-12345678`` (a placeholder: set the real hotline)
- ``ESEAL_SUPPORT_QQ_GROUP`` default ``123456789`` (placeholder QQ group number)
- ``ESEAL_SUPPORT_HOURS``    default ``工作日 08:30-17:00``
Push: ``ESEAL_SSE_HEARTBEAT_SECONDS`` (default 15) between keep-alive comments of an idle
message stream; keep it well under any proxy's read timeout (the gateway's is 60 s).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"

    support_phone: str = "0431-12345678"
    support_qq_group: str = "123456789"
    support_hours: str = "工作日 08:30-17:00"
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
