"""Settings of the stamping service (``ESEAL_*`` environment variables)."""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from pydantic import Field, SecretStr

from shared import ServiceSettings
from shared.settings import MIN_SECRET_BYTES


class StampingSettings(ServiceSettings):
    service_name: ClassVar[str] = "stamping"

    # Documents come through the gateway (12 MiB body limit); the PDF itself may be 10 MiB.
    max_body_bytes: int = 12 * 1024 * 1024
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    # Stamp requests: lifetime of the QR code (ESEAL_STAMP_REQUEST_TTL_SECONDS) and the
    # longest ``expires_in`` a relying system may ask for.
    stamp_request_ttl_seconds: int = Field(default=600, ge=1)
    stamp_request_max_ttl_seconds: int = Field(default=3600, ge=1)
    # A claim older than this is considered abandoned (the process died mid-stamp).
    stamping_claim_ttl_seconds: int = Field(default=120, ge=10)
    stamping_sweep_interval: float = Field(default=2.0, gt=0)
    # 用印审批: how long a stamp waits for an approver before it ends (ESEAL_APPROVAL_TTL_SECONDS)
    approval_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    # Relying systems' access tokens (HS256, never ES256: the gateway passes them through).
    stamping_client_token_ttl_seconds: int = Field(default=3600, ge=60)
    stamping_client_token_secret: SecretStr | None = None

    # Callbacks (webhooks) to relying systems.
    stamping_callback_allow_private: bool | None = None  # None: allowed unless production
    stamping_callback_max_attempts: int = Field(default=8, ge=1)
    stamping_callback_base_delay: float = Field(default=2.0, gt=0)
    stamping_callback_max_delay: float = Field(default=900.0, gt=0)
    stamping_callback_timeout: float = Field(default=10.0, gt=0)
    stamping_callback_poll_interval: float = Field(default=1.0, gt=0)

    # PDF work runs in threads so the event loop stays responsive; at most this many at once.
    # pyHanko is pure Python: threads add no CPU (the GIL), they let one stamp compute while
    # another waits for seals or the TSA. More CPU means more replicas.
    stamping_pdf_threads: int = Field(default=2, ge=0)
    # A stamp's pyHanko signing runs in this many worker processes (issue 18: off the GIL of
    # the event loop, on every core), each interleaving up to ``stamping_pdf_jobs_per_process``
    # stamps while they wait for seals or the TSA. 0: in the threads above.
    stamping_pdf_processes: int = Field(default=2, ge=0)
    stamping_pdf_jobs_per_process: int = Field(default=4, ge=1)
    # A stamp's PDF work (preparation, seal signature, timestamp, DSS) must end within this.
    stamping_pdf_deadline_seconds: float = Field(default=60.0, gt=0)
    # Public verification: its own worker processes (never the stamping threads), a deadline
    # per document (the worker is killed past it: 422 document_too_complex), and at most
    # ``verification_queue`` documents waiting or running (more: 503 verification_busy).
    verification_processes: int = Field(default=2, ge=1)
    verification_deadline_seconds: float = Field(default=30.0, gt=0)
    verification_queue: int = Field(default=16, ge=1)
    # Caps on any PDF we verify or stamp (422 too_many_signatures / too_many_pages).
    pdf_max_signatures: int = Field(default=50, ge=1)
    pdf_max_pages: int = Field(default=2000, ge=1)
    # CA material (certificates, CRL) is cached this long for stamping; verification always
    # fetches the current CRL.
    stamping_ca_cache_seconds: float = Field(default=10.0, ge=0)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        secret = self.stamping_client_token_secret
        if secret is None:
            problems.append("ESEAL_STAMPING_CLIENT_TOKEN_SECRET is not set")
        elif len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            problems.append(f"ESEAL_STAMPING_CLIENT_TOKEN_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        return problems

    @property
    def callbacks_may_reach_private_addresses(self) -> bool:
        if self.stamping_callback_allow_private is None:
            return not self.is_production
        return self.stamping_callback_allow_private

    @property
    def client_token_key(self) -> bytes:
        """The key of client tokens: the configured secret, else derived from the internal one."""
        if self.stamping_client_token_secret is not None:
            return self.stamping_client_token_secret.get_secret_value().encode()
        base = self.internal_secret.get_secret_value().encode()
        return hmac.new(base, b"eseal-stamping-client-tokens-v1", hashlib.sha256).digest()
