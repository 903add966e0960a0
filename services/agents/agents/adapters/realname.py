"""Real-name verification (实名核验) of an agent's identity elements, as a port.

A real provider (the public-security identity service) answers whether a name and an ID
number belong together. Adapters of ``service_layer.ports.RealNameVerifier``:

* ``SandboxRealName`` (development, test; refuses production) answers like a provider:
  - name ``不存在`` → no such person (field ``name``);
  - an ID number listed in ``ESEAL_SANDBOX_REALNAME_REJECT`` (comma-separated) → the name
    does not match the number (field ``id_number``);
  - anything else that passed the format checks → verified.
* ``UnavailableRealName``: production until a real adapter is configured; adding an agent
  answers 503 ``realname_provider_unavailable``.
"""

from __future__ import annotations

from ..domain.errors import RealNameProviderUnavailable
from ..service_layer.ports import RealNameResult, RealNameVerifier


class SandboxRealName:
    UNKNOWN_NAME = "不存在"

    def __init__(self, env: str, rejected_id_numbers: frozenset[str] = frozenset()) -> None:
        if env == "production":
            raise RuntimeError("the sandbox real-name verifier must not run with ESEAL_ENV=production")
        self.rejected = rejected_id_numbers

    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        if name == self.UNKNOWN_NAME:
            return RealNameResult(False, "name", "查无此人 / no such person")
        if id_number in self.rejected:
            return RealNameResult(False, "id_number",
                                  "姓名与证件号码不一致 / name and ID number do not match")
        return RealNameResult(True)


class UnavailableRealName:
    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        raise RealNameProviderUnavailable(
            "实名核验服务暂不可用 / no real-name verification provider is configured")


def realname_verifier(choice: str | None, env: str, rejected: str) -> RealNameVerifier:
    """``ESEAL_REALNAME_PROVIDER`` (sandbox | none); unset: sandbox outside production."""
    choice = choice or ("none" if env == "production" else "sandbox")
    if choice == "sandbox":
        return SandboxRealName(env, frozenset(x.strip().upper() for x in rejected.split(",") if x.strip()))
    if choice == "none":
        return UnavailableRealName()
    raise RuntimeError(f"unknown real-name provider {choice!r}")
