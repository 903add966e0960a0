"""Rendering refusals (``adapters.rendering``) as problem+json answers."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from shared.errors import EsealError, PayloadTooLarge, ValidationFailed
from shared.logging import get_logger

from ..adapters.rendering import (
    FontMissing,
    ImageTooLarge,
    InvalidUscc,
    RenderError,
    UnknownSealType,
    UnsupportedCharacters,
)

log = get_logger(__name__)


class FontUnavailable(EsealError):
    status, code, title = 500, "font_missing", "Font missing"


def image_problem(err: RenderError, field: str) -> EsealError:
    """A rendering refusal as problem+json: 413 for too large, else 422, naming the field."""
    if isinstance(err, UnknownSealType):
        field = "type"
    elif isinstance(err, InvalidUscc):
        field = "uscc"
    errors = [{"field": field, "message": err.message}]
    if isinstance(err, ImageTooLarge):
        return PayloadTooLarge(err.message, code=err.code, errors=errors)
    extra: dict[str, Any] = {}
    if isinstance(err, UnsupportedCharacters):
        extra["characters"] = [{"char": c, "codepoint": f"U+{ord(c):04X}"} for c in err.chars]
    return ValidationFailed(err.message, code=err.code, errors=errors, **extra)


async def rendered(work: Awaitable[bytes], field: str) -> bytes:
    try:
        return await work
    except RenderError as err:
        raise image_problem(err, field) from None
    except FontMissing as err:
        log.error("font_missing", font=err.font, package=err.package)
        raise FontUnavailable(str(err)) from None
