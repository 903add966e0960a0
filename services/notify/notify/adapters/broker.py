"""A subscriber's own place on the broker: user, permissions, queue, bindings.

Two provisioners with one interface (``service_layer.ports.Provisioner``): ``Broker`` sets users and
permissions with ``rabbitmqctl`` (``ESEAL_RABBITMQCTL``, run where the broker's node is
reachable; the management plugin is not needed), ``adapters.management.ManagementBroker``
with the RabbitMQ HTTP management API (``ESEAL_RABBITMQ_MANAGEMENT_URL``). Either way the
queue and its bindings are declared over AMQP with the platform's own connection
(``ESEAL_AMQP_URL``).

The subscriber's user may do exactly one thing: consume from ``sub.<slug>``:
configure ``^$`` (declare or delete nothing), write ``^$`` (publish nowhere, bind nothing),
read ``^sub\\.<slug>$`` (its own queue only), and on the topic exchange ``eseal.events``
topic permissions ``^$`` for both write and read.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aio_pika

from shared.bus import EVENTS_EXCHANGE, declare_events_exchange

NOTHING = "^$"


class BrokerError(RuntimeError):
    """rabbitmqctl or the broker refused a provisioning step."""


def queue_name(slug: str) -> str:
    return f"sub.{slug}"


def read_pattern(slug: str) -> str:
    """The anchored regex of the one queue the subscriber may read."""
    return "^" + re.escape(queue_name(slug)) + "$"


def vhost_of(amqp_url: str) -> str:
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


async def declare_queue(amqp_url: str, slug: str, routing_keys: Iterable[str]) -> None:
    """The durable quorum queue ``sub.<slug>`` bound to ``eseal.events`` for exactly these keys."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel)
        queue = await channel.declare_queue(queue_name(slug), durable=True,
                                            arguments={"x-queue-type": "quorum"})
        for key in sorted(set(routing_keys)):
            await queue.bind(exchange, routing_key=key)


async def delete_queue(amqp_url: str, slug: str) -> None:
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue_name(slug))


@dataclass(frozen=True)
class Broker:
    """The ``rabbitmqctl`` provisioner (the password is on rabbitmqctl's command line)."""

    amqp_url: str
    rabbitmqctl: str = "rabbitmqctl"

    @property
    def vhost(self) -> str:
        return vhost_of(self.amqp_url)

    async def _ctl(self, *args: str, missing_ok: bool = False) -> str:
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(self.rabbitmqctl), "--quiet", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            text = (err or out).decode(errors="replace")
            if missing_ok and ("not_found" in text or "does not exist" in text
                               or "no_such_user" in text):
                return ""
            raise BrokerError(f"rabbitmqctl {args[0]} failed: {text.strip()[:300]}")
        return out.decode(errors="replace")

    async def provision(self, slug: str, password: str, routing_keys: Iterable[str]) -> None:
        """Create the user, its permissions, its queue and exactly these bindings.

        Users are broker-wide (not per vhost): an existing user of that name is never taken
        over (it may belong to another platform on the same broker); choose another slug.
        """
        user = queue_name(slug)
        existing = await self._ctl("list_users")
        if any(line.split("\t", 1)[0] == user for line in existing.splitlines()):
            raise BrokerError(f"the broker user {user} exists already: choose another --slug")
        await declare_queue(self.amqp_url, slug, routing_keys)
        await self._ctl("add_user", "--", user, password)  # "--": a secret may begin with "-"
        await self._ctl("set_permissions", "-p", self.vhost, user, NOTHING, NOTHING, read_pattern(slug))
        await self._ctl("set_topic_permissions", "-p", self.vhost, user, EVENTS_EXCHANGE, NOTHING, NOTHING)

    async def change_password(self, slug: str, password: str) -> None:
        await self._ctl("change_password", "--", queue_name(slug), password)

    async def cut_off(self, slug: str) -> None:
        """Delete the user, close its open connections, delete its queue: at once."""
        user = queue_name(slug)
        await self._ctl("delete_user", user, missing_ok=True)
        await self._ctl("close_all_user_connections", user, "subscriber disabled", missing_ok=True)
        await delete_queue(self.amqp_url, slug)
