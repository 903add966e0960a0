"""Settings of the notify service (``ESEAL_*`` environment variables).

Customer service (客服中心), shown by ``GET /api/v1/support``:
- ``ESEAL_SUPPORT_PHONE``    default ``0431-12345678`` (a placeholder: set the real hotline)
- ``ESEAL_SUPPORT_QQ_GROUP`` default ``123456789`` (placeholder QQ group number)
- ``ESEAL_SUPPORT_HOURS``    default ``工作日 08:30-17:00``
Push: ``ESEAL_SSE_HEARTBEAT_SECONDS`` (default 15) between keep-alive comments of an idle
message stream; keep it well under any proxy's read timeout (the gateway's is 60 s).

Subscribers (other government systems, docs/EVENTS.md "Subscribers"):
- ``ESEAL_RABBITMQ_MANAGEMENT_URL`` (unset by default): the broker's HTTP management API
  (e.g. ``http://rabbitmq:15672``); when set, the subscriber commands manage broker users
  through it (adapters/management.py) as ``ESEAL_RABBITMQ_MANAGEMENT_USER`` (default
  ``guest``, which RabbitMQ accepts from localhost only) with ``ESEAL_RABBITMQ_MANAGEMENT_PASSWORD``
  or the file ``ESEAL_RABBITMQ_MANAGEMENT_PASSWORD_FILE`` (default ``guest``); never logged
- ``ESEAL_RABBITMQCTL`` (default ``rabbitmqctl``): otherwise, the command ``create-subscriber``
  and ``disable-subscriber`` run to manage broker users (a full command line may be given, e.g.
  ``docker compose exec -T rabbitmq rabbitmqctl``)
- ``ESEAL_SUBSCRIBER_TOKEN_TTL_SECONDS`` (default 900): lifetime of a subscriber's access token
- ``ESEAL_WEBHOOK_ALLOW_PRIVATE`` (default: allowed unless production): webhooks to private
  and loopback addresses
- ``ESEAL_WEBHOOK_RETRY_HOURS`` (default 25, at least 24): how long a failing delivery is
  retried (a subscriber's receiver down for a day loses nothing)
- ``ESEAL_WEBHOOK_BASE_DELAY`` (default 10 s) doubling up to ``ESEAL_WEBHOOK_MAX_DELAY``
  (default 3600 s) between attempts; ``ESEAL_WEBHOOK_TIMEOUT`` (default 10 s) per attempt;
  ``ESEAL_WEBHOOK_POLL_INTERVAL`` (default 1 s) between looks for new events and due retries
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from shared import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"

    support_phone: str = "0431-12345678"
    support_qq_group: str = "123456789"
    support_hours: str = "工作日 08:30-17:00"
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)

    rabbitmqctl: str = "rabbitmqctl"
    rabbitmq_management_url: str | None = None
    rabbitmq_management_user: str = "guest"
    rabbitmq_management_password: SecretStr | None = None
    rabbitmq_management_password_file: Path | None = None  # a mounted secret instead
    subscriber_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    webhook_allow_private: bool | None = None
    webhook_retry_hours: float = Field(default=25.0, ge=24)
    webhook_base_delay: float = Field(default=10.0, gt=0)
    webhook_max_delay: float = Field(default=3600.0, gt=0)
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_poll_interval: float = Field(default=1.0, gt=0)

    @property
    def webhooks_may_reach_private_addresses(self) -> bool:
        if self.webhook_allow_private is None:
            return not self.is_production
        return self.webhook_allow_private

    @property
    def uses_management_api(self) -> bool:
        return bool((self.rabbitmq_management_url or "").strip())

    def rabbitmq_management_secret(self) -> str:
        """ESEAL_RABBITMQ_MANAGEMENT_PASSWORD, else the file …_PASSWORD_FILE, else ``guest``."""
        if self.rabbitmq_management_password is not None:
            return self.rabbitmq_management_password.get_secret_value()
        if self.rabbitmq_management_password_file is not None:
            return self.rabbitmq_management_password_file.read_text(encoding="utf-8").strip()
        return "guest"

    @property
    def subscriber_token_key(self) -> bytes:
        """The key of subscribers' access tokens, derived from the internal secret."""
        return hmac.new(self.internal_secret.get_secret_value().encode(),
                        b"eseal-notify-subscriber-tokens-v1", hashlib.sha256).digest()
