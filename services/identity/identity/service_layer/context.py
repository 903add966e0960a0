"""What the identity command handlers need, wired once in bootstrap."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.china_time import CHINA_TZ
from shared.lockout import LockPolicy

from ..config import IdentitySettings
from ..domain.throttle import Window
from .ports import (
    AccessTokenSigner,
    BusinessRegistry,
    FaceProvider,
    IdentityStorage,
    OidcProvider,
    PasswordHasher,
    RealNameVerifier,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Identity:
    storage: IdentityStorage
    passwords: PasswordHasher
    signer: AccessTokenSigner
    faces: FaceProvider
    settings: IdentitySettings
    person_key_secret: bytes
    clock: Callable[[], datetime] = utc_now
    oidc: OidcProvider | None = None  # 统一身份认证 login, when the deployment configures it
    realname: RealNameVerifier | None = None  # None: no provider (every check unavailable)
    registry: BusinessRegistry | None = None

    @property
    def lock_policy(self) -> LockPolicy:
        s = self.settings
        return LockPolicy(s.lock_max_failures, timedelta(minutes=s.lock_minutes))

    @property
    def username_window(self) -> Window:
        s = self.settings
        return Window(s.login_limit_per_username, s.login_username_window_seconds)

    @property
    def ip_window(self) -> Window:
        s = self.settings
        return Window(s.login_failure_limit_per_ip, s.login_ip_window_seconds)

    @property
    def face_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.face_check_ttl_seconds)

    def today(self) -> date:
        return self.clock().astimezone(CHINA_TZ).date()

    def person_key(self, id_number: str) -> str:
        """Keyed hash of an ID number: lets other services match people without the number."""
        return hmac.new(self.person_key_secret, id_number.encode(), hashlib.sha256).hexdigest()
