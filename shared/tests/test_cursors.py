"""One keyset cursor format for every list; anything else is 422 ``invalid_cursor``."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import cursors

AT = datetime(2026, 12, 4, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
KEY = uuid.UUID("6f1c1c3e-0f7a-4c43-9d38-3f5c8a9b1e2d")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_time_and_id_key_round_trips() -> None:
    cursor = cursors.encode(AT, KEY)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert cursors.decode(cursor, datetime, uuid.UUID) == (AT, KEY)


def test_a_sequence_key_round_trips() -> None:
    assert cursors.decode(cursors.encode(42), int) == (42,)


def test_the_format_is_a_json_array_in_base64url() -> None:
    assert base64.urlsafe_b64decode(cursors.encode(7) + "==") == b"[7]"


@pytest.mark.parametrize("cursor", [
    "garbage!", "", _b64(b"not json"), _b64(b'{"s": 1}'), _b64(b"[1, 2]"),
    _b64(b'["2026-12-04T13:00:00", "6f1c1c3e-0f7a-4c43-9d38-3f5c8a9b1e2d"]'),  # no zone
    _b64(b'["2026-12-04T13:00:00+08:00", "not-a-uuid"]'), _b64(b"\xff\xfe"),
    _b64(b'[true]'), _b64(b'["7"]'),
    # valid times whose UTC instant is outside the calendar (the driver would fail: a 500)
    _b64(b'["0001-01-01T00:00:00+14:00", "6f1c1c3e-0f7a-4c43-9d38-3f5c8a9b1e2d"]'),
    _b64(b'["9999-12-31T23:59:59-12:00", "6f1c1c3e-0f7a-4c43-9d38-3f5c8a9b1e2d"]'),
])
def test_anything_else_is_invalid_cursor(cursor: str) -> None:
    kinds = (int,) if cursor in (_b64(b"[true]"), _b64(b'["7"]')) else (datetime, uuid.UUID)
    with pytest.raises(cursors.InvalidCursor) as caught:
        cursors.decode(cursor, *kinds)
    problem = caught.value.to_problem()
    assert (problem["status"], problem["code"]) == (422, "invalid_cursor")
    assert problem["errors"] == [{"field": "cursor", "message": "not a cursor this list gave out",
                                  "code": "invalid_cursor"}]


def test_another_lists_cursor_is_refused() -> None:
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode(cursors.encode(AT, KEY), int)


def test_a_naive_time_cannot_become_a_cursor() -> None:
    with pytest.raises(ValueError):
        cursors.encode(datetime(2026, 1, 1), KEY)
    assert cursors.decode(cursors.encode(AT.astimezone(UTC), KEY), datetime, uuid.UUID)[0] == AT
