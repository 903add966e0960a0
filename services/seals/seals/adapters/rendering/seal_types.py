"""The catalogue of seal types an enterprise may apply for (one active seal per type)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .errors import NameRequired, UnknownSealType

Shape = Literal["round", "oval", "square"]

MAX_NAME_LENGTH = 50


@dataclass(frozen=True)
class SealType:
    code: str
    label: str
    shape: Shape
    # Physical size of the impression; the PNG's dpi is set so that it prints at this size.
    width_mm: float
    height_mm: float


_CATALOGUE = (
    SealType("official", "法定名称章", "round", 42.0, 42.0),
    SealType("contract", "合同专用章", "round", 42.0, 42.0),
    SealType("finance", "财务专用章", "round", 42.0, 42.0),
    SealType("hr", "人事专用章", "round", 42.0, 42.0),
    SealType("invoice", "发票专用章", "oval", 40.0, 30.0),
    SealType("legal_representative", "法定代表人名章", "square", 20.0, 20.0),
)

SEAL_TYPES: Mapping[str, SealType] = MappingProxyType({t.code: t for t in _CATALOGUE})


def seal_type(type_code: str) -> SealType:
    try:
        return SEAL_TYPES[type_code]
    except KeyError:
        raise UnknownSealType(type_code) from None


def default_seal_name(
    enterprise_name: str, type_code: str, *, legal_representative: str | None = None
) -> str:
    """The name proposed for a new seal: enterprise name + type label.

    A legal representative's seal carries a person's name, not the enterprise's, so its
    default name is that person's name (e.g. "张三"); it is what the square seal draws.
    The result is not truncated: a name over MAX_NAME_LENGTH is refused when rendered.
    """
    kind = seal_type(type_code)
    if kind.shape == "square":
        if legal_representative is None or not legal_representative.strip():
            raise NameRequired("the legal representative's name is required")
        return legal_representative.strip()
    return enterprise_name.strip() + kind.label
