"""Subscribers (other government systems) on the whole platform: the example subscriber
(examples/subscriber) with its own broker user, the catch-up feed, webhooks, cutting off.

Real events: persons and enterprises registered through the gateway (identity's
``PersonRegistered`` / ``EnterpriseRegistered``, published by identity's relay and served
from identity's event store by the feed). Ops commands run as ops would, in notify's
environment (``python -m notify create-subscriber ...``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from devstack.stack import ROOT
from shared.webhooks import SIGNATURE, verify
from tests.conftest import Platform
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "subscriber" / "subscriber.py"
REFUSED = (aio_pika.exceptions.ChannelClosed, aiormq.exceptions.ChannelAccessRefused,
           aio_pika.exceptions.AMQPError)


async def run_ops(platform: Platform, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "notify", *args, cwd=ROOT, env={**platform.config.environment("notify"), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(errors="replace")


async def ops(platform: Platform, *args: str) -> str:
    code, out, err = await run_ops(platform, *args)
    assert code == 0, err[-2000:]
    return out


def bus_shape(envelope: dict[str, Any]) -> dict[str, Any]:
    """An envelope without ``traceparent`` (the bus's is its publish span when tracing is on)."""
    return {k: v for k, v in envelope.items() if k != "traceparent"}


CREATED: list[str] = []  # broker users are broker-wide: removed when the module ends


@pytest.fixture(scope="module", autouse=True)
def remove_broker_users() -> Iterator[None]:
    yield
    for user in CREATED:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], capture_output=True, timeout=60)


async def create_subscriber(platform: Platform, events: str, webhook: str | None = None) -> dict[str, Any]:
    args = ["create-subscriber", "--name", f"某某系统{uuid.uuid4().hex[:8]}", "--events", events, "--json"]
    if webhook:
        args += ["--webhook", webhook]
    sub = dict(json.loads((await ops(platform, *args)).strip().splitlines()[-1]))
    CREATED.append(sub["broker_user"])
    return sub


def broker_url(platform: Platform, sub: dict[str, Any]) -> str:
    return f"amqp://{sub['broker_user']}:{sub['secret']}@127.0.0.1:5672/{platform.vhost}"


async def token(api: Api, sub: dict[str, Any]) -> tuple[int, str]:
    basic = base64.b64encode(f"{sub['subscriber_id']}:{sub['secret']}".encode()).decode()
    r = await api.post("/api/v1/subscriptions/token", data={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"})
    return r.status, (r.json or {}).get("access_token", "")


async def feed_all(api: Api, bearer: str) -> list[dict[str, Any]]:
    items, after = [], "0"
    while True:
        r = await api.get("/api/v1/events", token=bearer, params={"after": after, "limit": "50"})
        assert r.status == 200, r
        items += r.json["items"]
        after = r.json["next"]
        if not r.json["items"]:
            return items


class Example:
    """The example subscriber as a separate process (started, stopped like a real one)."""

    def __init__(self, platform: Platform, sub: dict[str, Any], db: Path) -> None:
        self.platform, self.sub, self.db = platform, sub, db
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**self.platform.config.environment("notify"),
               "SUB_AMQP_URL": broker_url(self.platform, self.sub),
               "SUB_QUEUE": self.sub["queue"],
               "SUB_API": self.platform.gateway_url, "SUB_ID": self.sub["subscriber_id"],
               "SUB_SECRET": self.sub["secret"]}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLE), "--db", str(self.db), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            assert line, "the example subscriber ended before consuming"
            if line.startswith(b"consuming"):
                return

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    def received(self) -> list[tuple[str, str, dict[str, Any]]]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT event_id, via, envelope FROM received").fetchall()
        return [(r[0], r[1], json.loads(r[2])) for r in rows]


@pytest_asyncio.fixture
async def hooks() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver on loopback (allowed outside production)."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/hook")), got
    await server.close()


async def test_the_catalogue_is_served_versioned(api: Api) -> None:
    r = await api.get("/api/v1/events/asyncapi.json")
    assert r.status == 200 and r.json["asyncapi"].startswith("3.")
    assert r.json["info"]["version"] == "1.0.0"
    assert "seals.SealRevoked" in r.json["channels"]
    assert "SealRevoked" in r.json["components"]["schemas"]


async def test_receives_exactly_its_types_and_nothing_else_is_allowed(
        platform: Platform, api: Api, tmp_path: Path) -> None:
    sub = await create_subscriber(platform, "EnterpriseRegistered")
    example = Example(platform, sub, tmp_path / "s.sqlite3")
    await example.start()
    try:
        enterprise = await ids.register_enterprise(api)
        await ids.register_person(api)
        mine = await eventually(lambda: [e for _, via, e in example.received()
                                         if via == "queue"
                                         and e["data"]["enterprise_id"] == enterprise["enterprise_id"]],
                                within=30, what="the enterprise's event from the queue")
        assert mine[0]["type"] == "EnterpriseRegistered" and mine[0]["producer"] == "identity"
        await asyncio.sleep(1.0)  # the person's event, were it routed, would be here by now
        assert {e["type"] for _, _, e in example.received()} == {"EnterpriseRegistered"}
    finally:
        await example.stop()

    connection = await aio_pika.connect(broker_url(platform, sub))
    async with connection:
        attempts = (
            lambda ch: ch.declare_queue(f"sub.mine{uuid.uuid4().hex[:4]}", durable=True),
            lambda ch: ch.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=sub["queue"]),
            lambda ch: ch.get_exchange("eseal.events", ensure=False),
            lambda ch: ch.get_queue("notify.events", ensure=False),
        )
        for i, attempt in enumerate(attempts):
            ch = await connection.channel(publisher_confirms=True)
            if i == 2:  # publishing on the events exchange
                exchange = await attempt(ch)
                with pytest.raises(REFUSED):
                    await exchange.publish(aio_pika.Message(b"{}"), routing_key="seals.SealRevoked")
            elif i == 3:  # reading another queue
                other = await attempt(ch)
                with pytest.raises(REFUSED):
                    await other.get(fail=False)
            else:
                with pytest.raises(REFUSED):
                    await attempt(ch)


async def test_catches_up_after_being_offline_with_nothing_missing_or_doubled(
        platform: Platform, api: Api, tmp_path: Path) -> None:
    sub = await create_subscriber(platform, "EnterpriseRegistered,PersonRegistered")
    example = Example(platform, sub, tmp_path / "s.sqlite3")
    await example.start()
    first = await ids.register_enterprise(api)
    await eventually(lambda: any(e["data"].get("enterprise_id") == first["enterprise_id"]
                                 for _, _, e in example.received()), within=30, what="the first event")
    await example.stop()

    offline = [await ids.register_enterprise(api) for _ in range(3)]
    person = await ids.register_person(api)
    await asyncio.sleep(1.0)  # published to its queue while it is away...
    platform_broker = await aio_pika.connect(platform.config.amqp_url)
    async with platform_broker:  # ...and lost from it (past its retention): only the feed has them
        channel = await platform_broker.channel()
        await (await channel.get_queue(sub["queue"], ensure=False)).purge()
    await example.start()
    try:
        wanted = {e["enterprise_id"] for e in [first, *offline]} | {person["person_id"]}

        def have() -> set[str]:
            return {e["data"].get("enterprise_id") or e["data"].get("person_id")
                    for _, _, e in example.received()}

        await eventually(lambda: wanted <= have(), within=30, what="every event, after the outage")
        via = {e["data"].get("enterprise_id"): how for _, how, e in example.received()}
        assert all(via[e["enterprise_id"]] == "feed" for e in offline)
        await asyncio.sleep(1.0)  # the queue's copies of what the feed gave: skipped
        rows = example.received()
        assert len(rows) == len({r[0] for r in rows})  # nothing doubled
        status, bearer = await token(api, sub)
        assert status == 200
        everything = await feed_all(api, bearer)
        assert {e["event_id"] for e in everything} == {r[0] for r in rows}  # nothing missing
        from_queue = {r[0]: r[2] for r in rows if r[1] == "queue"}
        assert from_queue  # the first event, at least, came from the queue: the same envelope
        for e in everything:
            if e["event_id"] in from_queue:
                assert bus_shape(e) == bus_shape(from_queue[e["event_id"]])
        assert {e["type"] for e in everything} == {"EnterpriseRegistered", "PersonRegistered"}
        assert all("id_number" not in json.dumps(e["data"]).replace("id_number_masked", "")
                   for e in everything)  # the bus's masking
    finally:
        await example.stop()


async def test_webhooks_and_a_disabled_subscriber_is_cut_off_at_once(
        platform: Platform, api: Api, tmp_path: Path,
        hooks: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, got = hooks
    sub = await create_subscriber(platform, "EnterpriseRegistered", webhook=url)
    example = Example(platform, sub, tmp_path / "s.sqlite3")
    await example.start()
    await ids.register_person(api)  # not one of its types: never POSTed
    enterprise = await ids.register_enterprise(api)

    def delivered() -> list[dict[str, Any]]:
        return [json.loads(body) for headers, body in got
                if verify(sub["webhook_secret"], body, headers.get(SIGNATURE, ""))
                and json.loads(body)["data"]["enterprise_id"] == enterprise["enterprise_id"]]

    hook = (await eventually(delivered, within=30, what="the signed webhook"))[0]
    assert hook["type"] == "EnterpriseRegistered"
    assert {json.loads(body)["type"] for _, body in got} == {"EnterpriseRegistered"}
    assert {headers["X-Eseal-Event-Id"] for headers, _ in got if "X-Eseal-Event-Id" in headers} >= \
        {hook["event_id"]}
    status, bearer = await token(api, sub)
    assert status == 200
    [same] = [e for e in await feed_all(api, bearer) if e["event_id"] == hook["event_id"]]
    assert bus_shape(hook) == bus_shape(same)  # the envelope, as on the bus and in the feed
    listed = await ops(platform, "list-subscribers")
    assert sub["subscriber_id"] in listed  # the secrets were shown once, at creation, never again
    assert sub["secret"] not in listed and sub["webhook_secret"] not in listed
    log = await api.get("/api/v1/subscriptions/deliveries", token=bearer)
    assert log.status == 200
    entry = next(d for d in log.json["items"] if d["event_id"] == hook["event_id"])
    assert entry["status"] == "delivered"
    again = await api.post(f"/api/v1/subscriptions/deliveries/{entry['delivery_id']}/redeliver", token=bearer)
    assert again.status == 202
    await eventually(lambda: len(delivered()) >= 2, within=30, what="the redelivery")

    await ops(platform, "disable-subscriber", sub["subscriber_id"])
    assert example.proc is not None  # the broker closed its connection: it ends by itself
    assert await asyncio.wait_for(example.proc.wait(), 15) != 0
    assert (await token(api, sub))[0] == 401
    assert (await api.get("/api/v1/events", token=bearer)).status == 401
    assert (await api.get("/api/v1/subscriptions/deliveries", token=bearer)).status == 401
    with pytest.raises((aio_pika.exceptions.AMQPConnectionError, ConnectionError)):
        await aio_pika.connect(broker_url(platform, sub), timeout=10)
    before = len(got)
    await ids.register_enterprise(api)
    await asyncio.sleep(3.0)
    assert len(got) == before  # no webhook any more


async def test_a_webhook_to_a_private_address_is_refused_where_they_are_not_allowed(
        platform: Platform) -> None:
    for url in ("https://10.20.30.40/hook", "https://127.0.0.1:8443/hook", "http://example.gov.cn/hook"):
        code, _, err = await run_ops(platform, "create-subscriber", "--name", "某某系统", "--events",
                                     "SealRevoked", "--webhook", url, ESEAL_WEBHOOK_ALLOW_PRIVATE="false")
        assert code == 2 and "--webhook" in err and "Traceback" not in err, err[-500:]
    listed = (await ops(platform, "list-subscribers")).splitlines()
    assert not any(line.endswith("  某某系统") for line in listed)  # nothing was registered


async def test_the_feed_refuses_strangers_and_other_types_and_pages_resumably(
        platform: Platform, api: Api) -> None:
    sub = await create_subscriber(platform, "EnterpriseRegistered")
    for _ in range(3):
        await ids.register_enterprise(api)
    assert (await token(api, {**sub, "secret": "wrong"}))[0] == 401
    status, bearer = await token(api, sub)
    assert status == 200
    assert (await api.get("/api/v1/events")).status == 401
    other = await api.get("/api/v1/events", token=bearer, params={"types": "PersonRegistered"})
    assert other.status == 403 and other.json["code"] == "type_not_subscribed"
    assert (await api.get("/api/v1/events", token=bearer, params={"after": "nonsense"})).status == 422
    everything = await feed_all(api, bearer)
    assert len(everything) >= 3
    one_by_one, after = [], "0"
    while True:
        r = await api.get("/api/v1/events", token=bearer, params={"after": after, "limit": "1"})
        assert r.status == 200 and len(r.json["items"]) <= 1
        if not r.json["items"]:
            break
        one_by_one += r.json["items"]
        after = r.json["next"]
    assert [e["event_id"] for e in one_by_one] == [e["event_id"] for e in everything]


async def test_rotating_the_secret_replaces_it_on_the_broker_and_for_tokens(
        platform: Platform, api: Api) -> None:
    sub = await create_subscriber(platform, "EnterpriseRegistered")
    rotated = dict(json.loads((await ops(platform, "rotate-subscriber-secret", sub["slug"], "--json"))
                              .strip().splitlines()[-1]))
    assert rotated["subscriber_id"] == sub["subscriber_id"] and rotated["queue"] == sub["queue"]
    assert rotated["secret"] != sub["secret"] and rotated["webhook_secret"] != sub["webhook_secret"]
    assert (await token(api, sub))[0] == 401
    assert (await token(api, rotated))[0] == 200
    with pytest.raises((aio_pika.exceptions.AMQPConnectionError, ConnectionError)):
        await aio_pika.connect(broker_url(platform, sub), timeout=10)
    connection = await aio_pika.connect(broker_url(platform, rotated), timeout=10)
    async with connection:
        channel = await connection.channel()
        await (await channel.get_queue(rotated["queue"], ensure=False)).get(fail=False)  # still its queue
