"""Ops commands for subscribers (other government systems receiving the public events).

    python -m notify create-subscriber --name 某某系统 --events SealIssued,SealRevoked
                                       [--webhook URL] [--slug SLUG] [--json]
    python -m notify list-subscribers
    python -m notify disable-subscriber SUBSCRIBER_ID|SLUG
    python -m notify rotate-subscriber-secret SUBSCRIBER_ID|SLUG [--json]

``create-subscriber`` provisions the broker user and queue ``sub.<slug>`` (through the
HTTP management API when ``ESEAL_RABBITMQ_MANAGEMENT_URL`` is set, else with ``rabbitmqctl``,
``ESEAL_RABBITMQCTL``) and prints the secret and the webhook secret once
(docs/EVENTS.md, "Subscribers"; docs/OPERATIONS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from urllib.parse import urlsplit

from shared.db import create_pool
from shared.errors import EsealError
from shared.service import prepare_database

from ..adapters import subscribers as repo
from ..adapters.broker import Broker, BrokerError, queue_name
from ..adapters.management import ManagementBroker
from ..bootstrap import MIGRATIONS
from ..config import NotifySettings
from ..service_layer import subscribers
from ..service_layer.ports import Provisioner

COMMANDS = ("create-subscriber", "list-subscribers", "disable-subscriber", "rotate-subscriber-secret")


def handles_argv(argv: list[str] | None = None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return bool(args) and args[0] in COMMANDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m notify")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-subscriber", help="register a system receiving events")
    create.add_argument("--name", required=True, help="the system's name")
    create.add_argument("--events", required=True, help="public event types, comma-separated")
    create.add_argument("--webhook", help="HTTPS URL to POST the events to (optional)")
    create.add_argument("--slug", help="ASCII name of its queue and broker user (sub.<slug>)")
    create.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("list-subscribers", help="list subscribers")
    disable = sub.add_parser("disable-subscriber", help="cut a subscriber off (broker, feed, webhooks)")
    disable.add_argument("subscriber", help="its id or slug")
    rotate = sub.add_parser("rotate-subscriber-secret", help="new secret and webhook secret")
    rotate.add_argument("subscriber", help="its id or slug")
    rotate.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(_run(args))
    except (ValueError, BrokerError, EsealError) as e:  # e.g. a private --webhook: a usage error
        parser.error(str(e))


def _broker_hint(amqp_url: str) -> str:
    """Where subscribers connect, without the platform's own credentials."""
    parts = urlsplit(amqp_url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 5672}{parts.path or '/'}"


def _show(credentials: subscribers.Credentials, settings: NotifySettings, as_json: bool) -> None:
    shown = credentials.printable(_broker_hint(settings.amqp_url))
    if as_json:
        print(json.dumps(shown, ensure_ascii=False))
        return
    for key, value in shown.items():
        print(f"{key + ':':<16}{','.join(value) if isinstance(value, list) else value}")
    print("(the secrets are shown only now; store them safely)")


def provisioner(settings: NotifySettings) -> Provisioner:
    """The HTTP management API when ESEAL_RABBITMQ_MANAGEMENT_URL is set, else rabbitmqctl."""
    if not settings.uses_management_api:
        return Broker(settings.amqp_url, settings.rabbitmqctl)
    try:
        password = settings.rabbitmq_management_secret()
    except OSError as e:
        raise ValueError("ESEAL_RABBITMQ_MANAGEMENT_PASSWORD_FILE cannot be read") from e
    return ManagementBroker(settings.amqp_url, (settings.rabbitmq_management_url or "").strip(),
                            settings.rabbitmq_management_user, password)


async def _run(args: argparse.Namespace) -> None:
    settings = NotifySettings()
    broker = provisioner(settings)
    await prepare_database(settings, MIGRATIONS)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if args.command == "create-subscriber":
            made = await subscribers.create_subscriber(
                pool, broker, name=args.name, events=args.events, webhook_url=args.webhook,
                slug=args.slug, allow_private=settings.webhooks_may_reach_private_addresses)
            _show(made, settings, args.json)
        elif args.command == "list-subscribers":
            async with pool.acquire() as conn:
                for s in await repo.list_all(conn):
                    state = "disabled" if s.disabled else "active"
                    print(f"{s.subscriber_id}  {state:<8}  {queue_name(s.slug):<24}"
                          f"  {','.join(s.event_types)}  {s.webhook_url or '-'}  {s.name}")
        elif args.command == "disable-subscriber":
            gone = await subscribers.disable_subscriber(pool, broker, args.subscriber)
            print(f"disabled {gone.subscriber_id} ({queue_name(gone.slug)})")
        elif args.command == "rotate-subscriber-secret":
            _show(await subscribers.rotate_secret(pool, broker, args.subscriber), settings, args.json)
    finally:
        await pool.close()
