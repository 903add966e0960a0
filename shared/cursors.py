"""Keyset cursors: one opaque format for every list of the API, one error for a bad one.

A page ends with the sort key of its last row; the next page starts after it. The cursor is
that key, as base64url (no padding) of a JSON array of strings and integers: a timestamp as
RFC 3339 with its zone, a UUID as text, an integer as itself. Clients treat it as opaque.
Anything else (not base64, not that shape, another list's key) is answered 422
``invalid_cursor`` naming the field ``cursor``, whichever list it was sent to.

    next_cursor = cursors.encode(row.created_at, row.seal_id)
    created_at, seal_id = cursors.decode(cursor, datetime, uuid.UUID)
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from shared.errors import ValidationFailed

__all__ = ["DOCUMENTED", "InvalidCursor", "decode", "encode"]

Key = datetime | uuid.UUID | int
# The 422 entry of every list's ``@documented(responses=...)``.
DOCUMENTED = "not a cursor this list gave out (`invalid_cursor`)"


class InvalidCursor(ValidationFailed):
    """422 ``invalid_cursor``: the ``cursor`` query parameter is not one a list gave out."""

    code = "invalid_cursor"

    def __init__(self) -> None:
        message = "not a cursor this list gave out"
        super().__init__(f"cursor: {message}",
                         errors=[{"field": "cursor", "message": message, "code": "invalid_cursor"}])


def _plain(key: Key) -> str | int:
    if isinstance(key, datetime):
        if key.tzinfo is None:
            raise ValueError("a cursor timestamp needs its zone")
        return key.isoformat()
    if isinstance(key, uuid.UUID):
        return str(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise TypeError(f"no cursor form for {type(key).__name__}")


def encode(*keys: Key) -> str:
    """The cursor of the row whose sort key is ``keys`` (in the list's order)."""
    raw = json.dumps([_plain(k) for k in keys], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _typed(value: Any, kind: type) -> Key:
    if kind is datetime and isinstance(value, str):
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("cursor time without zone")
        # In UTC, as the database compares it; a time that leaves the calendar there (year 1
        # at +14:00) raises OverflowError here instead of failing in the driver (a 500).
        return at.astimezone(UTC)
    if kind is uuid.UUID and isinstance(value, str):
        return uuid.UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected {kind.__name__}")


def decode(cursor: str, *kinds: type) -> tuple[Any, ...]:
    """The sort key in ``cursor``, one value of each of ``kinds``; else ``InvalidCursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_typed(v, k) for v, k in zip(values, kinds, strict=True))
    except (binascii.Error, ValueError, TypeError, OverflowError, UnicodeDecodeError):
        raise InvalidCursor() from None
