"""Errors of the rendering package, each with a stable ``code`` for problem+json.

``RenderError`` (a ``ValueError``) is always the caller's fault: map it to 4xx (422).
``FontMissing`` is a deployment fault (a font package is not installed): map it to 5xx.
"""

from __future__ import annotations


class RenderError(ValueError):
    """Bad input for a seal or signature image."""

    code: str = "render_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSealType(RenderError):
    code = "unknown_seal_type"

    def __init__(self, type_code: str) -> None:
        super().__init__(f"unknown seal type: {type_code!r}")
        self.type_code = type_code


class NameRequired(RenderError):
    code = "name_required"

    def __init__(self, message: str = "a name is required") -> None:
        super().__init__(message)


class NameTooLong(RenderError):
    code = "name_too_long"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"name has {length} characters, at most {limit} allowed")
        self.length = length
        self.limit = limit


class UnsupportedCharacters(RenderError):
    """Characters the font cannot draw; drawing them would give blank boxes."""

    code = "unsupported_characters"

    def __init__(self, chars: list[str]) -> None:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)
        super().__init__(f"characters cannot be drawn: {shown}")
        self.chars = list(chars)


class InvalidUscc(RenderError):
    code = "invalid_uscc"

    def __init__(self) -> None:
        super().__init__(
            "unified social credit code must be 18 characters of 0-9 and A-Z (no I, O, S, V, Z)"
        )


class NotPng(RenderError):
    code = "not_png"

    def __init__(self, message: str = "the image is not a valid PNG") -> None:
        super().__init__(message)


class ImageTooLarge(RenderError):
    code = "image_too_large"


class ImageTooSmall(RenderError):
    code = "image_too_small"


class SignatureEmpty(RenderError):
    code = "signature_empty"

    def __init__(self, message: str = "the signature image contains no ink") -> None:
        super().__init__(message)


class FontMissing(RuntimeError):
    """A required font is not installed on this machine."""

    code = "font_missing"

    def __init__(self, font: str, package: str) -> None:
        super().__init__(f"font {font} not found; install the Debian package {package}")
        self.font = font
        self.package = package
