"""Subscribers' pure parts: slugs, event types, the merged feed, tokens, retry schedule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from notify.adapters.broker import read_pattern, vhost_of
from notify.config import NotifySettings
from notify.domain.subscribers import event_types, retry_delay, routing_keys, slug_for
from notify.service_layer import feed
from notify.service_layer.subscribers import SubscriberTokenInvalid, SubscriberTokens, create_subscriber
from pydantic import ValidationError

from shared.errors import ValidationFailed
from shared.event_feed import parse_position
from shared.eventstore import Checkpoint

ID = uuid.UUID("3f9a1c2b-4d5e-4f60-8a7b-0c1d2e3f4a5b")


def test_slugs_are_ascii_queue_names() -> None:
    assert slug_for("某某系统", ID) == "s3f9a1c2b4d5e"
    assert slug_for("Archive System 2", ID) == "archive-system-2"
    assert slug_for("档案馆 Archive", ID) == "archive"
    assert slug_for("某某系统", ID, "gsxt") == "gsxt"
    with pytest.raises(ValueError):
        slug_for("x", ID, "Bad.Slug")
    assert read_pattern("a-b") == r"^sub\.a\-b$"
    assert vhost_of("amqp://u:p@h:5672/") == "/" and vhost_of("amqp://u:p@h/eseal%2Ft") == "eseal/t"


def test_event_types_are_public_catalogue_types() -> None:
    assert event_types("SealRevoked,SealIssued") == ["SealIssued", "SealRevoked"]
    assert routing_keys(["SealIssued", "StampApplied"]) == ["seals.SealIssued", "stamping.StampApplied"]
    for bad in ("", "SealRevokd", "SealRevoked,NoSuchEvent"):
        with pytest.raises(ValueError):
            event_types(bad)


def test_retries_double_up_to_the_cap_and_last_a_day() -> None:
    delays = [retry_delay(n, 10, 3600) for n in range(1, 40)]
    assert delays[:4] == [10, 20, 40, 80] and max(delays) == 3600
    assert sum(delays) > 24 * 3600


def test_the_retry_window_cannot_be_set_below_a_day() -> None:
    assert NotifySettings().webhook_retry_hours >= 24
    assert NotifySettings(webhook_retry_hours=24).webhook_retry_hours == 24
    with pytest.raises(ValidationError):
        NotifySettings(webhook_retry_hours=23.5)


@pytest.mark.parametrize("url", [
    "https://10.1.2.3/hook", "https://127.0.0.1:8443/hook", "https://localhost/hook",
    "https://[fd00::1]/hook", "https://169.254.169.254/latest", "http://example.gov.cn/hook"])
async def test_a_private_or_plain_http_webhook_is_refused_before_anything_is_provisioned(url: str) -> None:
    # pool and broker are never reached: the URL is checked first, as stamp callbacks' are
    with pytest.raises(ValidationFailed):
        await create_subscriber(None, None, name="某某系统", events="SealRevoked",  # type: ignore[arg-type]
                                webhook_url=url, slug=None, allow_private=False)


class _Broker:
    def __init__(self) -> None:
        self.users: set[str] = set()

    async def provision(self, slug: str, password: str, routing_keys: Any) -> None:
        self.users.add(slug)

    async def change_password(self, slug: str, password: str) -> None: ...

    async def cut_off(self, slug: str) -> None:
        self.users.discard(slug)


class _Conn:
    async def fetchval(self, *args: Any) -> Any:
        return None  # the slug is free

    async def execute(self, *args: Any) -> str:
        raise ConnectionError("the database went away")


class _Pool:
    def acquire(self) -> Any:
        class _Ctx:
            async def __aenter__(self) -> _Conn:
                return _Conn()

            async def __aexit__(self, *exc: object) -> None:
                return None
        return _Ctx()


async def test_a_subscriber_not_recorded_leaves_no_broker_user_behind() -> None:
    broker = _Broker()
    with pytest.raises(ConnectionError):
        await create_subscriber(_Pool(), broker, name="某某系统", events="SealRevoked",  # type: ignore[arg-type]
                                webhook_url=None, slug="gsxt", allow_private=False)
    assert broker.users == set()


def _item(producer: str, xact: int, at: str, event_type: str) -> dict[str, Any]:
    return {"position": f"{xact}.{xact}", "envelope": {
        "event_id": str(uuid.uuid4()), "type": event_type, "producer": producer, "occurred_at": at}}


async def test_the_feed_merges_producers_and_resumes_from_its_position() -> None:
    logs = {"seals": [_item("seals", 5, "2026-01-01T00:00:01+00:00", "SealIssued"),
                      _item("seals", 9, "2026-01-01T00:00:04+00:00", "SealRevoked")],
            "stamping": [_item("stamping", 3, "2026-01-01T00:00:02+00:00", "StampApplied")]}
    asked: list[tuple[str, str, list[str]]] = []

    async def fetch(producer: str, after: str, types: list[str], limit: int) -> dict[str, Any]:
        asked.append((producer, after, types))
        done = int(after.split(".")[0])
        items = [i for i in logs[producer] if int(i["position"].split(".")[0]) > done][:limit]
        return {"items": items, "next": items[-1]["position"] if items else after}

    types = ["SealIssued", "SealRevoked", "StampApplied"]
    page = await feed.read(fetch, {}, types, 2)
    assert [e["type"] for e in page.items] == ["SealIssued", "StampApplied"]
    assert parse_position(page.next) == {"seals": Checkpoint(5, 5), "stamping": Checkpoint(3, 3)}
    page2 = await feed.read(fetch, parse_position(page.next), types, 2)
    assert [e["type"] for e in page2.items] == ["SealRevoked"]
    page3 = await feed.read(fetch, parse_position(page2.next), types, 2)
    assert page3.items == [] and page3.next == page2.next
    assert {p for p, _, _ in asked} == {"seals", "stamping"}
    only = await feed.read(fetch, {}, ["StampApplied"], 10)
    assert [e["type"] for e in only.items] == ["StampApplied"] and asked[-1][0] == "stamping"


def test_tokens_carry_the_scope_and_the_subscriber() -> None:
    tokens = SubscriberTokens(b"k" * 32, 60)
    assert tokens.verify(tokens.issue(ID)) == ID
    with pytest.raises(SubscriberTokenInvalid):
        SubscriberTokens(b"x" * 32, 60).verify(tokens.issue(ID))
    with pytest.raises(SubscriberTokenInvalid):
        tokens.verify(tokens.issue(ID), scope="events:write")
