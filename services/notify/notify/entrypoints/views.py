"""How a message looks on the wire (the list and the stream show the same object)."""

from __future__ import annotations

from typing import Any

from ..adapters.repository import Message


def message_json(m: Message) -> dict[str, Any]:
    return {"message_id": m.message_id, "kind": m.kind, "title": m.title, "body": m.body,
            "created_at": m.created_at, "read": m.read}
