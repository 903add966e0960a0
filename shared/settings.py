"""Settings shared by every service, read from ``ESEAL_*`` environment variables."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .upstreams import split_urls

Environment = Literal["development", "test", "production"]

SERVICE_PORTS: dict[str, int] = {
    "gateway": 8080,
    "identity": 8101,
    "agents": 8102,
    "certs": 8103,
    "seals": 8104,
    "stamping": 8105,
    "notify": 8106,
}

# Each service's internal listener is its public port + this (gateway 8080 → 9080).
INTERNAL_PORT_OFFSET = 1000
# Public, in the source: refused in production (shared.production), like any short secret.
DEVELOPMENT_INTERNAL_SECRET = "dev-only-internal-secret-change-me-in-production"  # noqa: S105
MIN_SECRET_BYTES = 32


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and sets ``service_name``."""

    model_config = SettingsConfigDict(env_prefix="ESEAL_", extra="ignore")

    service_name: ClassVar[str] = "service"

    # Unset means production: a forgotten setting must never switch on sandboxes (fail closed).
    env: Environment = "production"
    host: str = "127.0.0.1"
    port: int = 0
    # The internal listener (/internal/*, /metrics, probes); 0 means public port + 1000.
    internal_port: int = 0
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    db_prefix: str = "eseal_"
    db_pool_min: int = 1
    db_pool_max: int = 10
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    internal_secret: SecretStr = SecretStr(DEVELOPMENT_INTERNAL_SECRET)
    log_json: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 1 * 1024 * 1024

    # Each may list a service's replicas, comma-separated (shared.upstreams balances them).
    identity_url: str = "http://127.0.0.1:8101"
    agents_url: str = "http://127.0.0.1:8102"
    certs_url: str = "http://127.0.0.1:8103"
    seals_url: str = "http://127.0.0.1:8104"
    stamping_url: str = "http://127.0.0.1:8105"
    notify_url: str = "http://127.0.0.1:8106"
    # Service-to-service calls go to the internal listeners (the public ones refuse /internal).
    identity_internal_url: str = "http://127.0.0.1:9101"
    agents_internal_url: str = "http://127.0.0.1:9102"
    certs_internal_url: str = "http://127.0.0.1:9103"
    seals_internal_url: str = "http://127.0.0.1:9104"
    stamping_internal_url: str = "http://127.0.0.1:9105"
    notify_internal_url: str = "http://127.0.0.1:9106"

    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_interval: float = 0.2
    consumer_prefetch: int = Field(default=32, ge=1, le=1000)
    # Tracing (shared.tracing): off unless an OTLP/HTTP endpoint is set here or in the
    # standard OTEL_EXPORTER_OTLP_ENDPOINT; new traces, and those a caller started unsampled
    # (the H5 pages), kept with this ratio; one arriving sampled stays sampled.
    otlp_endpoint: str = ""
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    @property
    def db_name(self) -> str:
        return f"{self.db_prefix}{self.service_name}"

    @property
    def database_url(self) -> str:
        return f"{self.pg_url.rstrip('/')}/{self.db_name}"

    @property
    def listen_port(self) -> int:
        return self.port or SERVICE_PORTS.get(self.service_name, 8000)

    @property
    def internal_listen_port(self) -> int:
        return self.internal_port or self.listen_port + INTERNAL_PORT_OFFSET

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def service_url(self, service: str) -> str:
        """Base URL of a service's public listener; with replicas, a comma-separated list."""
        return ",".join(self.service_urls(service))

    def internal_url(self, service: str) -> str:
        """Base URL of another service's internal listener (``ESEAL_<SVC>_INTERNAL_URL``);
        with replicas, a comma-separated list in the same order as ``ESEAL_<SVC>_URL``."""
        return ",".join(self.internal_urls(service))

    def service_urls(self, service: str) -> list[str]:
        return split_urls(getattr(self, f"{service}_url"))

    def internal_urls(self, service: str) -> list[str]:
        return split_urls(getattr(self, f"{service}_internal_url"))

    def production_problems(self) -> list[str]:
        """Settings refused with ESEAL_ENV=production (shared.production); services extend it."""
        problems = []
        secret = self.internal_secret.get_secret_value()
        if secret == DEVELOPMENT_INTERNAL_SECRET:
            problems.append("ESEAL_INTERNAL_SECRET is the public development default")
        elif len(secret.encode()) < MIN_SECRET_BYTES:
            problems.append(f"ESEAL_INTERNAL_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        if self.internal_listen_port == self.listen_port:
            problems.append("ESEAL_INTERNAL_PORT must differ from ESEAL_PORT")
        return problems
