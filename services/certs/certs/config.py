"""Settings of the certs service (``ESEAL_*`` environment variables), and what the master
key and the key-derivation parameters are made of them."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from shared.logging import get_logger
from shared.providers.tencentcloud import TencentCloudSettings

from .adapters.crypto.keywrap import DEFAULT_KDF_PARAMS, TEST_KDF_PARAMS, KdfParams, MasterKey

log = get_logger(__name__)


class CertsSettings(TencentCloudSettings):
    service_name: ClassVar[str] = "certs"

    # base64 of 32 random bytes (a Kubernetes secret); absent: a public development key
    master_key: SecretStr | None = None
    # where relying parties reach the gateway: CRL distribution points are written with it
    public_base_url: str = "http://127.0.0.1:8080"
    # the test platform sets ESEAL_TEST_FAST_KDF=1; refused in production
    test_fast_kdf: bool = False
    kdf_time_cost: int | None = Field(default=None, ge=1, le=10)
    kdf_memory_kib: int | None = Field(default=None, ge=8192, le=1_048_576)
    # seal certificates (valid 5 years) are renewed automatically this many days before expiry
    seal_renewal_days: int = Field(default=30, ge=1, le=365)
    sms_provider: Literal["sandbox", "http", "tencent"] = "sandbox"
    sms_url: str | None = None
    sms_api_key: SecretStr | None = None
    # ESEAL_SMS_PROVIDER=tencent (and the ESEAL_TENCENT_* account): the SMS application,
    # the approved sign name (签名) and the approved template of each kind of message.
    tencent_sms_sdk_app_id: str | None = None
    tencent_sms_sign_name: str | None = None
    tencent_sms_template_activation_code: str | None = None
    tencent_sms_template_reset_code: str | None = None
    tencent_sms_template_renewal_code: str | None = None
    tencent_sms_template_expiry_reminder: str | None = None
    # How often the delivery reports (回执) are pulled (PullSmsSendStatus), in seconds.
    tencent_sms_pull_interval: float = Field(default=60.0, ge=1.0, le=3600.0)

    def tencent_sms_missing(self) -> list[str]:
        return [f"ESEAL_{name.upper()}" for name in
                ("tencent_sms_sdk_app_id", "tencent_sms_sign_name", "tencent_sms_template_activation_code",
                 "tencent_sms_template_reset_code", "tencent_sms_template_renewal_code",
                 "tencent_sms_template_expiry_reminder")
                if not (getattr(self, name) or "").strip()]

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        key = self.master_key.get_secret_value().strip() if self.master_key is not None else ""
        if not key:
            problems.append("ESEAL_MASTER_KEY is not set (the public development key would be used)")
        else:
            try:
                if MasterKey.from_base64(key).key_id == MasterKey.for_development().key_id:
                    problems.append("ESEAL_MASTER_KEY is the public development key")
            except Exception:  # noqa: BLE001 - whatever is wrong with it, it is refused
                problems.append("ESEAL_MASTER_KEY is not base64 of 32 bytes")
        if self.test_fast_kdf:
            problems.append("ESEAL_TEST_FAST_KDF is set")
        if self.sms_provider == "sandbox":
            problems.append("ESEAL_SMS_PROVIDER=sandbox (the default; set tencent or http)")
        elif self.sms_provider == "tencent":
            problems += self.tencent_problems("ESEAL_SMS_PROVIDER")
            problems += [f"ESEAL_SMS_PROVIDER=tencent needs {m}" for m in self.tencent_sms_missing()]
        elif not self.sms_url or self.sms_api_key is None:
            problems.append("ESEAL_SMS_PROVIDER=http needs ESEAL_SMS_URL and ESEAL_SMS_API_KEY")
        return problems


def master_key(settings: CertsSettings) -> MasterKey:
    """ESEAL_MASTER_KEY; the development key only outside production, with a warning."""
    development = MasterKey.for_development()
    if settings.master_key is not None and settings.master_key.get_secret_value().strip():
        key = MasterKey.from_base64(settings.master_key.get_secret_value())
        if settings.is_production and key.key_id == development.key_id:
            raise RuntimeError("ESEAL_MASTER_KEY is the public development key: refused in production")
        return key
    if settings.is_production:
        raise RuntimeError("ESEAL_MASTER_KEY is required in production")
    log.warning("development_master_key",
                detail="ESEAL_MASTER_KEY is not set: using the public development master key")
    return development


def kdf_params(settings: CertsSettings) -> KdfParams:
    if settings.test_fast_kdf:
        if settings.is_production:
            raise RuntimeError("ESEAL_TEST_FAST_KDF must not be set in production")
        return TEST_KDF_PARAMS
    params = DEFAULT_KDF_PARAMS
    if settings.kdf_time_cost is not None:
        params = replace(params, time_cost=settings.kdf_time_cost)
    if settings.kdf_memory_kib is not None:
        params = replace(params, memory_cost=settings.kdf_memory_kib)
    return params
