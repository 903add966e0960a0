"""Who a certificate is issued to. Values come from identity/agents/seals data that
was validated there; here we only enforce what X.509 needs (non-empty, ≤ 64 chars)."""

from __future__ import annotations

from dataclasses import dataclass

_UB_NAME = 64  # RFC 5280 upper bound of commonName / organizationName


def _check(label: str, value: str) -> None:
    if not value or not value.strip():
        raise ValueError(f"{label} must not be empty")
    if len(value) > _UB_NAME:
        raise ValueError(f"{label} longer than {_UB_NAME} characters")


@dataclass(frozen=True)
class PersonSubject:
    """A natural person: CN=name, serialNumber=ID number, C=CN."""

    name: str
    id_number: str

    def __post_init__(self) -> None:
        _check("name", self.name)
        _check("id_number", self.id_number)


@dataclass(frozen=True)
class EnterpriseSubject:
    """An enterprise account: CN=O=enterprise name, organizationIdentifier=USCC, C=CN."""

    name: str
    uscc: str

    def __post_init__(self) -> None:
        _check("name", self.name)
        _check("uscc", self.uscc)


@dataclass(frozen=True)
class AgentSubject:
    """An enterprise's agent: the person plus the enterprise it acts for."""

    name: str
    id_number: str
    enterprise_name: str
    uscc: str

    def __post_init__(self) -> None:
        for label in ("name", "id_number", "enterprise_name", "uscc"):
            _check(label, getattr(self, label))


@dataclass(frozen=True)
class SealSubject:
    """A seal: O=enterprise, organizationIdentifier=USCC, OU=type label, CN=seal name."""

    enterprise_name: str
    uscc: str
    seal_name: str
    seal_type_label: str

    def __post_init__(self) -> None:
        for label in ("enterprise_name", "uscc", "seal_name", "seal_type_label"):
            _check(label, getattr(self, label))


UserSubject = PersonSubject | EnterpriseSubject | AgentSubject
