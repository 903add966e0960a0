"""An eseal event subscriber to copy: its own credentials, consume, acknowledge, de-duplicate
by event id, catch up through the feed after being stopped.

    SUB_AMQP_URL=amqp://sub.<slug>:<secret>@broker:5672/<vhost> \\
    SUB_QUEUE=sub.<slug> \\
    SUB_API=https://eseal.example.gov.cn SUB_ID=<subscriber_id> SUB_SECRET=<secret> \\
    python subscriber.py --db subscriber.sqlite3

What it does (docs/EVENTS.md, "Subscribers"):
1. At start, reads ``GET /api/v1/events`` from the position it stored last (the beginning the
   first time) until an empty page: what happened while it was stopped, or before it existed.
2. Then consumes its queue ``sub.<slug>`` (never declares it: it may not), handling each
   message and acknowledging it after the effect is committed.
3. The effect (here: a row in ``received``) and the "seen" mark of the event id are one SQLite
   transaction, so a repeated event (at-least-once: redelivery, feed/queue overlap) is
   skipped and never applied twice.
Stop it with Ctrl-C or SIGTERM; unacknowledged messages go back to the queue.
Needs ``aio-pika`` and ``aiohttp`` (``pip install aio-pika aiohttp``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import sqlite3
from typing import Any

import aio_pika
import aiohttp


class Store:
    """The subscriber's own database: seen event ids, the feed position, the effect."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS received (event_id TEXT PRIMARY KEY, type TEXT NOT NULL,"
            " via TEXT NOT NULL, envelope TEXT NOT NULL);")

    def handle(self, envelope: dict[str, Any], via: str) -> bool:
        """Apply the event once; False when it was seen before (skipped)."""
        with self.db:  # one transaction: the effect and the seen mark commit together
            if self.db.execute("INSERT OR IGNORE INTO seen VALUES (?)",
                               (envelope["event_id"],)).rowcount == 0:
                return False
            # --- your effect goes here (same transaction) ---
            self.db.execute("INSERT INTO received VALUES (?, ?, ?, ?)",
                            (envelope["event_id"], envelope["type"], via, json.dumps(envelope)))
        return True

    def position(self) -> str:
        row = self.db.execute("SELECT value FROM state WHERE key = 'position'").fetchone()
        return str(row[0]) if row else "0"

    def save_position(self, position: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO state VALUES ('position', ?)"
                            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (position,))


async def token(http: aiohttp.ClientSession, api: str, subscriber_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{subscriber_id}:{secret}".encode()).decode()
    async with http.post(f"{api}/api/v1/subscriptions/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"}) as r:
        r.raise_for_status()
        return str((await r.json())["access_token"])


async def catch_up(store: Store, api: str, subscriber_id: str, secret: str) -> int:
    """Read the feed from the stored position until an empty page; returns events applied."""
    applied = 0
    async with aiohttp.ClientSession() as http:
        bearer = await token(http, api, subscriber_id, secret)
        while True:
            async with http.get(f"{api}/api/v1/events", params={"after": store.position(), "limit": "200"},
                                headers={"Authorization": f"Bearer {bearer}"}) as r:
                if r.status == 401:  # expired: take a new token and ask again
                    bearer = await token(http, api, subscriber_id, secret)
                    continue
                r.raise_for_status()
                page = await r.json()
            for envelope in page["items"]:
                applied += store.handle(envelope, "feed")
            store.save_position(page["next"])
            if not page["items"]:
                return applied


async def consume(store: Store, amqp_url: str, queue_name: str, stop: asyncio.Event) -> None:
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "example-subscriber"})
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=32)
        queue = await channel.get_queue(queue_name, ensure=False)  # declaring is not allowed

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            try:
                envelope = json.loads(message.body)
                store.handle(envelope, "queue")
            except Exception:  # noqa: BLE001 - not processed: back to the queue, not lost
                await message.nack(requeue=True)
                raise
            await message.ack()  # after the effect committed

        await queue.consume(on_message)
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(closed.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        if closed.is_set() and not stop.is_set():
            raise ConnectionError("the broker closed the connection")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="subscriber.sqlite3")
    args = parser.parse_args()
    env = os.environ
    store = Store(args.db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    caught = await catch_up(store, env["SUB_API"], env["SUB_ID"], env["SUB_SECRET"])
    print(f"caught up: {caught} events from the feed", flush=True)
    print("consuming", flush=True)
    await consume(store, env["SUB_AMQP_URL"], env["SUB_QUEUE"], stop)


if __name__ == "__main__":
    asyncio.run(main())
