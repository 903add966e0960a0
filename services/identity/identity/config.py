"""Settings of the identity service (``ESEAL_*`` environment variables)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from shared.logging import get_logger
from shared.providers.tencentcloud import TencentCloudSettings
from shared.settings import MIN_SECRET_BYTES

log = get_logger(__name__)

_DEV_MASTER = b"eseal development master key - never for production"
_DEV_KEYED_HASH = b"eseal development keyed-hash secret - never for production"


class IdentitySettings(TencentCloudSettings):
    service_name: ClassVar[str] = "identity"

    # Small JSON bodies only: anything bigger is refused with 413 before it is parsed.
    max_body_bytes: int = 64 * 1024
    # base64 of 32 bytes; wraps the JWT signing key. Required in production.
    master_key: SecretStr | None = None
    # HMAC key of person_key (keyed hash of an ID number). Required in production.
    keyed_hash_secret: SecretStr | None = None
    test_fast_kdf: bool = False

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600)
    face_check_ttl_seconds: int = Field(default=300, ge=1, le=3600)
    # sandbox | none | tencent (with the ESEAL_TENCENT_* account); unset: sandbox outside production
    face_provider: str | None = None
    # ESEAL_FACE_PROVIDER=tencent: the 慧眼 rule (业务流程 RuleId) and where Tencent's H5 page
    # sends the browser back; "{face_check_id}" in it is replaced by the check's id.
    tencent_face_rule_id: str | None = None
    tencent_face_redirect_url: str | None = None

    # Proofing at registration (adapters/proofing.py): sandbox | none (| tencent for the
    # real-name check, with the ESEAL_TENCENT_* account); unset: sandbox outside production,
    # none in production. The sandbox's refusal lists are comma-separated.
    realname_provider: str | None = None
    sandbox_realname_reject: str = ""
    registry_provider: str | None = None
    sandbox_registry_reject: str = ""

    lock_max_failures: int = Field(default=5, ge=1)
    lock_minutes: int = Field(default=15, ge=1)
    login_limit_per_username: int = Field(default=10, ge=1)
    login_username_window_seconds: int = Field(default=60, ge=1)
    login_failure_limit_per_ip: int = Field(default=50, ge=1)
    login_ip_window_seconds: int = Field(default=600, ge=1)

    # 统一身份认证: login through an external OpenID Connect provider (unset issuer: off).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None  # a mounted secret instead of the variable
    oidc_redirect_uri: str | None = None  # the H5 callback page, e.g. https://host/app/login/oidc
    oidc_scopes: str = "openid profile"
    oidc_id_number_claim: str = "id_number"  # the claim with the verified identity number
    oidc_display_name: str = "统一身份认证登录"

    def master_key_bytes(self) -> bytes:
        if self.master_key is not None:
            return base64.b64decode(self.master_key.get_secret_value(), validate=True)
        self._refuse_default_in_production("ESEAL_MASTER_KEY")
        log.warning("development_master_key_in_use", hint="set ESEAL_MASTER_KEY outside development")
        return hashlib.sha256(_DEV_MASTER).digest()

    def keyed_hash_key(self) -> bytes:
        if self.keyed_hash_secret is not None:
            return self.keyed_hash_secret.get_secret_value().encode()
        self._refuse_default_in_production("ESEAL_KEYED_HASH_SECRET")
        log.warning("development_keyed_hash_secret_in_use")
        return _DEV_KEYED_HASH

    def production_problems(self) -> list[str]:
        problems = super().production_problems() + self.oidc_problems()
        if self.master_key is None or not self.master_key.get_secret_value().strip():
            problems.append("ESEAL_MASTER_KEY is not set (the development key would be used)")
        else:
            try:
                raw = base64.b64decode(self.master_key.get_secret_value(), validate=True)
            except ValueError:
                raw = b""
            if len(raw) != 32:
                problems.append("ESEAL_MASTER_KEY is not base64 of 32 bytes")
            elif raw == hashlib.sha256(_DEV_MASTER).digest():
                problems.append("ESEAL_MASTER_KEY is the public development key")
        if self.keyed_hash_secret is None:
            problems.append("ESEAL_KEYED_HASH_SECRET is not set (the development secret would be used)")
        elif self.keyed_hash_secret.get_secret_value().encode() == _DEV_KEYED_HASH:
            problems.append("ESEAL_KEYED_HASH_SECRET is the public development secret")
        elif len(self.keyed_hash_secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            problems.append(f"ESEAL_KEYED_HASH_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        if self.test_fast_kdf:
            problems.append("ESEAL_TEST_FAST_KDF is set")
        problems += [f"ESEAL_{name.upper()}=sandbox" for name in ("realname_provider", "registry_provider")
                     if getattr(self, name) == "sandbox"]
        for port in ("realname_provider", "registry_provider"):
            if getattr(self, port) == "tencent":
                problems += self.tencent_problems(f"ESEAL_{port.upper()}")
        if self.face_provider == "sandbox":
            problems.append("ESEAL_FACE_PROVIDER=sandbox")
        elif self.face_provider == "tencent":
            problems += self.tencent_problems("ESEAL_FACE_PROVIDER")
            problems += [f"ESEAL_FACE_PROVIDER=tencent needs {m}" for m in self.tencent_face_missing()]
        return problems

    def tencent_face_missing(self) -> list[str]:
        return [f"ESEAL_{name.upper()}" for name in ("tencent_face_rule_id", "tencent_face_redirect_url")
                if not (getattr(self, name) or "").strip()]

    @property
    def oidc_enabled(self) -> bool:
        return bool((self.oidc_issuer or "").strip())

    def oidc_secret(self) -> str | None:
        """The client secret: ESEAL_OIDC_CLIENT_SECRET, else the file ESEAL_OIDC_CLIENT_SECRET_FILE."""
        if self.oidc_client_secret is not None and self.oidc_client_secret.get_secret_value().strip():
            return self.oidc_client_secret.get_secret_value().strip()
        if self.oidc_client_secret_file is not None:
            return self.oidc_client_secret_file.read_text(encoding="utf-8").strip() or None
        return None

    def oidc_problems(self) -> list[str]:
        """What keeps a configured OIDC login from working (checked at start and in production)."""
        if not self.oidc_enabled:
            return []
        problems = [f"ESEAL_OIDC_ISSUER needs ESEAL_{name.upper()}"
                    for name in ("oidc_client_id", "oidc_redirect_uri")
                    if not (getattr(self, name) or "").strip()]
        try:
            if self.oidc_secret() is None:
                problems.append("ESEAL_OIDC_ISSUER needs ESEAL_OIDC_CLIENT_SECRET"
                                " (or ESEAL_OIDC_CLIENT_SECRET_FILE)")
        except OSError:
            problems.append("ESEAL_OIDC_CLIENT_SECRET_FILE cannot be read")
        if self.is_production:
            if not (self.oidc_issuer or "").startswith("https://"):
                problems.append("ESEAL_OIDC_ISSUER must be an https:// URL")
            if not (self.oidc_redirect_uri or "https://").startswith("https://"):
                problems.append("ESEAL_OIDC_REDIRECT_URI must be an https:// URL")
        return problems

    def check_production(self) -> None:
        if self.is_production and self.test_fast_kdf:
            raise RuntimeError("ESEAL_TEST_FAST_KDF must not be set with ESEAL_ENV=production")
        if self.oidc_problems():
            raise RuntimeError("OIDC login is misconfigured: " + "; ".join(self.oidc_problems()))

    def _refuse_default_in_production(self, name: str) -> None:
        if self.is_production:
            raise RuntimeError(f"{name} is required with ESEAL_ENV=production")
