"""Seal impressions and personal signatures as PNG images (pure: reads only font files)."""

from .errors import (
    FontMissing,
    ImageTooLarge,
    ImageTooSmall,
    InvalidUscc,
    NameRequired,
    NameTooLong,
    NotPng,
    RenderError,
    SignatureEmpty,
    UnknownSealType,
    UnsupportedCharacters,
)
from .fonts import FontFace, check_coverage, seal_font, signature_font
from .seal_renderer import SealText, render_seal, split_seal_name
from .seal_types import (
    MAX_NAME_LENGTH,
    SEAL_TYPES,
    SealType,
    default_seal_name,
    seal_type,
)
from .signature_renderer import generate_signature, normalize_handwritten

__all__ = [
    "MAX_NAME_LENGTH",
    "SEAL_TYPES",
    "FontFace",
    "FontMissing",
    "ImageTooLarge",
    "ImageTooSmall",
    "InvalidUscc",
    "NameRequired",
    "NameTooLong",
    "NotPng",
    "RenderError",
    "SealText",
    "SealType",
    "SignatureEmpty",
    "UnknownSealType",
    "UnsupportedCharacters",
    "check_coverage",
    "default_seal_name",
    "generate_signature",
    "normalize_handwritten",
    "render_seal",
    "seal_font",
    "seal_type",
    "signature_font",
    "split_seal_name",
]
