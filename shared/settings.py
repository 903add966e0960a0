"""Settings shared by every service, read from ``ESEAL_*`` environment variables."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and sets ``service_name``."""

    model_config = SettingsConfigDict(env_prefix="ESEAL_", extra="ignore")

    service_name: ClassVar[str] = "service"

    env: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 0
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    db_prefix: str = "eseal_"
    db_pool_min: int = 1
    db_pool_max: int = 10
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    internal_secret: SecretStr = SecretStr("dev-only-internal-secret-change-me-in-production")
    log_json: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 1 * 1024 * 1024

    identity_url: str = "http://127.0.0.1:8101"
    agents_url: str = "http://127.0.0.1:8102"
    certs_url: str = "http://127.0.0.1:8103"
    seals_url: str = "http://127.0.0.1:8104"
    stamping_url: str = "http://127.0.0.1:8105"
    notify_url: str = "http://127.0.0.1:8106"

    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_interval: float = 0.2
    consumer_prefetch: int = Field(default=32, ge=1, le=1000)

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
    def is_production(self) -> bool:
        return self.env == "production"

    def service_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")
