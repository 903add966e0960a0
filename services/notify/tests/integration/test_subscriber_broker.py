"""A subscriber's broker user against the real RabbitMQ: least privilege, with either
provisioner (rabbitmqctl, and the HTTP management API that scripts/ensure-system.sh enables
on 127.0.0.1:15672, where guest/guest is accepted from localhost)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import pytest
from notify.adapters.broker import Broker, BrokerError, queue_name, read_pattern
from notify.adapters.management import ManagementBroker
from notify.service_layer.ports import Provisioner

from shared.bus import EVENTS_EXCHANGE

MANAGEMENT_URL = "http://127.0.0.1:15672"
REFUSED = (aio_pika.exceptions.ChannelClosed, aiormq.exceptions.ChannelAccessRefused,
           aio_pika.exceptions.AMQPError)


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _listed(*args: str) -> list[dict[str, Any]]:
    out = subprocess.run(["rabbitmqctl", "-q", *args, "--formatter", "json"], check=True,
                         capture_output=True, timeout=60).stdout
    return list(json.loads(out or b"[]"))


def _assert_least_privilege(vhost: str, slug: str, keys: set[str]) -> None:
    """What the broker itself now says about the user and its queue (not what we asked)."""
    user = queue_name(slug)
    assert _listed("list_user_permissions", user) == [
        {"vhost": vhost, "configure": "^$", "write": "^$", "read": read_pattern(slug)}]
    assert _listed("list_user_topic_permissions", user) == [
        {"vhost": vhost, "exchange": EVENTS_EXCHANGE, "write": "^$", "read": "^$"}]
    [queue] = [q for q in _listed("list_queues", "-p", vhost, "name", "durable", "type") if q["name"] == user]
    assert queue["durable"] is True and queue["type"] == "quorum"
    bound = {b["routing_key"] for b in _listed("list_bindings", "-p", vhost, "source_name",
                                                "destination_name", "routing_key")
             if b["destination_name"] == user and b["source_name"] == EVENTS_EXCHANGE}
    assert bound == keys
    [tags] = [u["tags"] for u in _listed("list_users") if u["user"] == user]
    assert tags == []  # no management or administrator tag: no HTTP API access either


@pytest.fixture
def vhost() -> Iterator[str]:
    name = f"eseal_sub_{uuid.uuid4().hex[:10]}"
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield name
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)


def _rabbitmqctl(amqp_url: str) -> Provisioner:
    return Broker(amqp_url)


def _management(amqp_url: str) -> Provisioner:
    return ManagementBroker(amqp_url, MANAGEMENT_URL, "guest", "guest")


PROVISIONERS = {"rabbitmqctl": _rabbitmqctl, "management": _management}
OTHER = {"rabbitmqctl": _management, "management": _rabbitmqctl}


@pytest.fixture(params=sorted(PROVISIONERS))
def provisioner(request: pytest.FixtureRequest) -> str:
    if request.param == "management":
        probe = subprocess.run(["rabbitmq-plugins", "is_enabled", "rabbitmq_management"],
                               capture_output=True, timeout=60)
        assert probe.returncode == 0, \
            "the RabbitMQ management plugin is off: run scripts/ensure-system.sh services"
    return str(request.param)


async def _publish(url: str, key: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(b'{"type": "x"}', message_id=key), routing_key=key)


async def test_the_subscriber_reads_its_queue_and_nothing_else(vhost: str, provisioner: str) -> None:
    platform = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    make: Callable[[str], Provisioner] = PROVISIONERS[provisioner]
    broker = make(platform)
    slug = f"t{uuid.uuid4().hex[:8]}"
    await broker.provision(slug, "pw-" + slug, ["seals.SealIssued", "seals.SealRevoked"])
    await broker.provision(slug + "x", "other", ["seals.SealIssued"])  # another subscriber
    _assert_least_privilege(vhost, slug, {"seals.SealIssued", "seals.SealRevoked"})
    with pytest.raises(BrokerError):  # a user is never taken over, even from another vhost
        await make(f"amqp://guest:guest@127.0.0.1:5672/{vhost}x").provision(slug + "x", "mine", [])
    with pytest.raises(BrokerError):  # nor by the other provisioner
        await OTHER[provisioner](platform).provision(slug + "x", "mine", [])
    for key in ("seals.SealIssued", "stamping.StampApplied", "seals.SealRevoked"):
        await _publish(platform, key)
    mine = f"amqp://{queue_name(slug)}:pw-{slug}@127.0.0.1:5672/{vhost}"
    connection = await aio_pika.connect(mine)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name(slug), ensure=False)
        got = []
        async with queue.iterator(timeout=5) as messages:
            async for m in messages:
                got.append(m.message_id)
                await m.ack()
                if len(got) == 2:
                    break
        assert got == ["seals.SealIssued", "seals.SealRevoked"]  # exactly its types

        for attempt in (
            lambda ch: ch.declare_queue("mine", durable=True),
            lambda ch: ch.declare_exchange("x", aio_pika.ExchangeType.FANOUT),
            lambda ch: ch.default_exchange.publish(aio_pika.Message(b"x"), routing_key=queue_name(slug)),
            lambda ch: ch.queue_delete(queue_name(slug)),
        ):
            ch = await connection.channel(publisher_confirms=True)
            with pytest.raises(REFUSED):
                await attempt(ch)
        ch = await connection.channel()
        other = await ch.get_queue(queue_name(slug + "x"), ensure=False)
        with pytest.raises(REFUSED):
            await other.get(fail=False)
        ch = await connection.channel(publisher_confirms=True)
        exchange = await ch.get_exchange(EVENTS_EXCHANGE, ensure=False)
        with pytest.raises(REFUSED):
            await exchange.publish(aio_pika.Message(b"x"), routing_key="seals.SealRevoked")

        await broker.change_password(slug, "rotated")  # rotate-subscriber-secret
        rotated = await aio_pika.connect(mine.replace(f"pw-{slug}", "rotated"))
        await rotated.close()
        with pytest.raises((aio_pika.exceptions.AMQPConnectionError, ConnectionError)):
            await aio_pika.connect(mine, timeout=5)  # the old secret no longer logs in
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        await broker.cut_off(slug)  # disabling: the open connection ends, logins fail
        await asyncio.wait_for(closed.wait(), 10)
    finally:
        await connection.close()
        await broker.cut_off(slug + "x")
    with pytest.raises((aio_pika.exceptions.AMQPConnectionError, ConnectionError)):
        await aio_pika.connect(mine, timeout=5)


async def test_a_secret_that_begins_with_a_dash_is_a_password_not_an_option(
        vhost: str, provisioner: str) -> None:
    """Secrets are URL-safe base64, so 1 in 64 begins with "-": rabbitmqctl took such a one
    for an option and refused to create the user (a flaky e2e test found it)."""
    platform = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    broker = PROVISIONERS[provisioner](platform)
    slug = f"t{uuid.uuid4().hex[:8]}"
    await broker.provision(slug, "-E14_p-first", ["seals.SealIssued"])
    try:
        user = queue_name(slug)
        first = await aio_pika.connect(f"amqp://{user}:-E14_p-first@127.0.0.1:5672/{vhost}")
        await first.close()
        await broker.change_password(slug, "--rotated")
        rotated = await aio_pika.connect(f"amqp://{user}:--rotated@127.0.0.1:5672/{vhost}")
        await rotated.close()
    finally:
        await broker.cut_off(slug)
