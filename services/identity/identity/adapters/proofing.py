"""Proofing providers: the real-name check of a person (三要素: name, ID number, phone) and
the business-registry check of an enterprise (name, USCC, legal representative's name).

Adapters of ``service_layer.ports.RealNameVerifier`` (``ESEAL_REALNAME_PROVIDER``) and
``BusinessRegistry`` (``ESEAL_REGISTRY_PROVIDER``), each ``sandbox`` (development, test;
refused in production) or ``none`` (no provider: every check is ``ProofingUnavailable``).
Unset means ``sandbox`` outside production and ``none`` in production (fail closed: persons
are registered ``pending_verification``, enterprises are refused with 503 until a provider
is configured).

The sandbox answers like a provider, deterministically, so that tests and the H5 client can
reach every outcome:

* person: name ``不存在`` → field ``name``; name ``核验中断`` → the provider is unavailable;
  an ID number listed in ``ESEAL_SANDBOX_REALNAME_REJECT`` → field ``id_number``; an entry
  ``phone:<phone>`` there → field ``phone``; anything else → verified.
* enterprise: a name containing ``不存在`` → field ``name``; containing ``核验中断`` → the
  registry is unavailable; a legal representative named ``不存在`` → field
  ``legal_representative.name``; a USCC listed in ``ESEAL_SANDBOX_REGISTRY_REJECT`` → field
  ``uscc``; anything else → verified.

A production adapter implements the same two methods over the provider's protocol and maps
its answers to a ``ProofingResult`` naming the kind of element (never the values on record),
and every failure without a verdict (timeouts, quotas, service errors) to
``ProofingUnavailable``.
"""

from __future__ import annotations

from ..service_layer.ports import BusinessRegistry, ProofingResult, ProofingUnavailable, RealNameVerifier

UNKNOWN = "不存在"
OUTAGE = "核验中断"


def _listed(entries: str) -> frozenset[str]:
    return frozenset(x.strip().upper() for x in entries.split(",") if x.strip())


def _refuse_production(env: str, what: str) -> None:
    if env == "production":
        raise RuntimeError(f"the sandbox {what} must not run with ESEAL_ENV=production")


class SandboxRealName:
    name = "sandbox"

    def __init__(self, env: str, rejected: str = "") -> None:
        _refuse_production(env, "real-name verifier")
        self.rejected = _listed(rejected)

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        if name == OUTAGE:
            raise ProofingUnavailable("sandbox outage")
        if name == UNKNOWN:
            return ProofingResult(False, "name", "查无此人 / no such person")
        if id_number.upper() in self.rejected:
            return ProofingResult(False, "id_number",
                                  "姓名与证件号码不一致 / name and ID number do not match")
        if f"PHONE:{phone}" in self.rejected:
            return ProofingResult(False, "phone",
                                  "手机号码与身份信息不一致 / the phone is not registered to this person")
        return ProofingResult(True)


class SandboxRegistry:
    name = "sandbox"

    def __init__(self, env: str, rejected: str = "") -> None:
        _refuse_production(env, "business registry")
        self.rejected = _listed(rejected)

    async def verify_enterprise(self, name: str, uscc: str,
                                legal_representative_name: str) -> ProofingResult:
        if OUTAGE in name:
            raise ProofingUnavailable("sandbox outage")
        if UNKNOWN in name:
            return ProofingResult(False, "name", "查无此企业 / no enterprise of this name is registered")
        if uscc.upper() in self.rejected:
            return ProofingResult(False, "uscc",
                                  "企业名称与统一社会信用代码不一致 / the name and the USCC do not match")
        if legal_representative_name == UNKNOWN:
            return ProofingResult(False, "legal_representative.name",
                                  "法定代表人与登记信息不一致 /"
                                  " the legal representative does not match the registry")
        return ProofingResult(True)


class NoRealName:
    name = "none"

    async def verify_three(self, name: str, id_type: str, id_number: str, phone: str) -> ProofingResult:
        raise ProofingUnavailable("no real-name provider is configured")


class NoRegistry:
    name = "none"

    async def verify_enterprise(self, name: str, uscc: str,
                                legal_representative_name: str) -> ProofingResult:
        raise ProofingUnavailable("no business registry is configured")


def _choice(choice: str | None, env: str, variable: str) -> str:
    choice = (choice or "").strip() or ("none" if env == "production" else "sandbox")
    if choice not in ("sandbox", "none"):
        raise RuntimeError(f"unknown {variable} {choice!r} (sandbox | none)")
    return choice


def realname_verifier(choice: str | None, env: str, rejected: str = "") -> RealNameVerifier:
    """``ESEAL_REALNAME_PROVIDER``."""
    if _choice(choice, env, "ESEAL_REALNAME_PROVIDER") == "sandbox":
        return SandboxRealName(env, rejected)
    return NoRealName()


def business_registry(choice: str | None, env: str, rejected: str = "") -> BusinessRegistry:
    """``ESEAL_REGISTRY_PROVIDER``."""
    if _choice(choice, env, "ESEAL_REGISTRY_PROVIDER") == "sandbox":
        return SandboxRegistry(env, rejected)
    return NoRegistry()
