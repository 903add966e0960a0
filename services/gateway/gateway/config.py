"""The gateway's settings (``ESEAL_*`` environment variables, as every service's)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"
    upstream_timeout: float = 60.0
    max_body_bytes: int = 12 * 1024 * 1024  # documents to stamp are uploaded through here
    # Comma-separated origins allowed to call the API from a browser (the H5 client's).
    cors_origins: str = "http://127.0.0.1:8080,http://localhost:8080"
    rate_limit_scale: float = 1.0
    # Proxies in front of the gateway that append to X-Forwarded-For (an ingress: 1). 0: the
    # socket peer is the client and X-Forwarded-For is ignored.
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    web_dist: Path | None = None  # the web pages' build; default: web/dist of this checkout
    # Redis for rate-limit buckets shared by every replica (unset: each replica's memory).
    redis_url: str | None = None
    redis_key_prefix: str = "eseal:ratelimit:"
    # Seconds between readiness checks of each replica (only services listing several).
    upstream_check_interval: float = Field(default=2.0, gt=0)
