"""Settings of the seals service (``ESEAL_*`` environment variables)."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field

from shared import ServiceSettings


class SealsSettings(ServiceSettings):
    service_name: ClassVar[str] = "seals"

    # Handwritten signatures arrive as base64 JSON (a 2 MB PNG is ~2.7 MB of text): the body
    # limit stays above that so an oversized image is refused naming its field.
    max_body_bytes: int = 8 * 1024 * 1024
    render_concurrency: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2))
    agent_sync_wait: float = 3.0
    # certs is asked to sign inside the stamping transaction: never wait on it for long.
    certs_timeout: float = 10.0
    revocation_retry_interval: float = 5.0
