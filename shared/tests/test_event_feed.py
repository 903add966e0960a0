"""shared.event_feed: positions, and a producer's public events after a position."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from shared.catalog import SealIssued, SealRevoked
from shared.errors import ValidationFailed
from shared.event_feed import (
    feed_item,
    format_position,
    parse_checkpoint,
    parse_position,
    parse_types,
    producers,
    read_public,
)
from shared.events import utcnow
from shared.eventstore import Checkpoint, EventStore
from shared.relay import to_message

from .support import ThingAdded


def test_composite_positions_round_trip() -> None:
    position = {"seals": Checkpoint(903, 77), "identity": Checkpoint(812, 40)}
    text = format_position(position)
    assert text == "identity:812.40,seals:903.77"
    assert parse_position(text) == position
    assert parse_position("") == parse_position("0") == parse_position(None) == {}
    assert parse_checkpoint("0") == Checkpoint()


@pytest.mark.parametrize("bad", ["seals", "seals:1", "seals:1.x", "Seals:1.2", "a:1.2,a:1.3", "x:-1.2"])
def test_malformed_positions_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_position(bad)


def test_types_must_be_public_catalogue_types() -> None:
    assert parse_types("SealRevoked, SealIssued,SealIssued") == ["SealIssued", "SealRevoked"]
    with pytest.raises(ValidationFailed):
        parse_types("SealRevoked,LibThingAdded")
    assert set(producers()) == {"identity", "agents", "certs", "seals", "stamping"}


async def test_reads_only_public_events_of_the_types_and_resumes(pool: asyncpg.Pool,
                                                                 store: EventStore) -> None:
    seals = EventStore("seals")
    async with pool.acquire() as conn:
        seal = uuid.uuid4()
        issued = SealIssued(seal_id=seal, enterprise_id=uuid.uuid4(), type="official", name="公章",
                            image_sha256="0" * 64, certificate_serial="01", issued_by=uuid.uuid4())
        await seals.append(conn, seal, "seal", 0, [issued])
        await store.append(conn, "thing-1", "thing", 0, [ThingAdded(amount=1)])
        revoked = SealRevoked(seal_id=seal, enterprise_id=issued.enterprise_id, revoked_by=uuid.uuid4(),
                              revoked_at=utcnow(), reason="作废")
        await seals.append(conn, seal, "seal", 1, [revoked])
        found, after = await read_public(seals, conn, Checkpoint(), ["SealRevoked"], 10)
        assert [e.type for e in found] == ["SealRevoked"]
        assert after == found[-1].checkpoint
        both, _ = await read_public(seals, conn, Checkpoint(), ["SealIssued", "SealRevoked"], 1)
        assert [e.type for e in both] == ["SealIssued"]
        rest, end = await read_public(seals, conn, both[-1].checkpoint, ["SealIssued", "SealRevoked"], 10)
        assert [e.type for e in rest] == ["SealRevoked"]
        assert await read_public(seals, conn, end, ["SealRevoked"], 10) == ([], end)
        item = feed_item(rest[0], "seals")
        assert item["envelope"] == rest[0].envelope("seals").model_dump(mode="json")
        assert item["envelope"]["producer"] == "seals"
        # the bus message of the same event lines up with the feed (docs/EVENTS.md "Lining up")
        message = to_message(rest[0], "seals")
        assert json.loads(message.body) == item["envelope"]
        assert message.headers["position"] == item["position"] and message.headers["producer"] == "seals"
        assert message.message_id == item["envelope"]["event_id"]
