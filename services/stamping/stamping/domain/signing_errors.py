"""Refusals of the stamp call about the request's placements (issue 15), before any password
try: choices that do not fit, and what this platform cannot sign yet."""

from __future__ import annotations

from shared.errors import ValidationFailed


class InvalidChoice(ValidationFailed):
    code, title = "invalid_choice", "Invalid seal choices"


class SignaturePlacementUnsupported(ValidationFailed):
    """A ``signature`` placement (the person's own signature) is not signed by the stamp call."""

    code, title = "signature_placement_unsupported", "Personal signature placements cannot be signed yet"

