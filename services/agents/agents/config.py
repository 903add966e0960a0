"""The agents service's settings (``ESEAL_*`` environment variables, as every service's)."""

from __future__ import annotations

from typing import ClassVar

from shared.providers.tencentcloud import TencentCloudSettings


class AgentsSettings(TencentCloudSettings):
    service_name: ClassVar[str] = "agents"

    max_body_bytes: int = 64 * 1024
    # sandbox | none | tencent (with the ESEAL_TENCENT_* account); unset: sandbox outside production
    realname_provider: str | None = None
    # Sandbox only: ID numbers the sandbox real-name check says do not match their name.
    sandbox_realname_reject: str = ""

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.realname_provider == "sandbox":
            problems.append("ESEAL_REALNAME_PROVIDER=sandbox")
        elif self.realname_provider == "tencent":
            problems += self.tencent_problems("ESEAL_REALNAME_PROVIDER")
        return problems
