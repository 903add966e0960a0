"""The agents service's settings (``ESEAL_*`` environment variables, as every service's)."""

from __future__ import annotations

from typing import ClassVar

from shared import ServiceSettings


class AgentsSettings(ServiceSettings):
    service_name: ClassVar[str] = "agents"

    max_body_bytes: int = 64 * 1024
    realname_provider: str | None = None  # sandbox | none; unset: sandbox outside production
    # Sandbox only: ID numbers the sandbox real-name check says do not match their name.
    sandbox_realname_reject: str = ""

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.realname_provider == "sandbox":
            problems.append("ESEAL_REALNAME_PROVIDER=sandbox")
        return problems
