"""Ops commands for relying systems (盖章系统).

    python -m stamping create-client --name 某某审批系统 [--json]
    python -m stamping list-clients
    python -m stamping disable-client CLIENT_ID
    python -m stamping backfill-signature-fingerprints

``create-client`` prints the client id, the client secret and the webhook secret once;
only the client secret's argon2id hash is kept. The webhook secret is the key of the
``X-Eseal-Signature`` HMAC on callbacks (the platform must keep it to sign with).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path

from shared.db import create_pool
from shared.service import prepare_database

from ..adapters import repository
from ..config import StampingSettings
from ..service_layer import fingerprints
from ..service_layer.clients import create_client

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
COMMANDS = ("create-client", "list-clients", "disable-client", "backfill-signature-fingerprints")


def handles_argv(argv: list[str] | None = None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return bool(args) and args[0] in COMMANDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stamping")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-client", help="register a relying system")
    create.add_argument("--name", required=True, help="the system's name, shown in usage records")
    create.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("list-clients", help="list relying systems")
    disable = sub.add_parser("disable-client", help="disable a relying system (its tokens stop working)")
    disable.add_argument("client_id", type=uuid.UUID)
    sub.add_parser("backfill-signature-fingerprints",
                   help="let verification find usage records written before signature fingerprints")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(_run(args))
    except ValueError as e:
        parser.error(str(e))


async def _run(args: argparse.Namespace) -> None:
    settings = StampingSettings()
    await prepare_database(settings, MIGRATIONS)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if args.command == "create-client":
            c = await create_client(pool, args.name)
            if args.json:
                print(json.dumps({"client_id": str(c.client_id), "name": c.name,
                                  "client_secret": c.client_secret,
                                  "webhook_secret": c.webhook_secret}, ensure_ascii=False))
            else:
                print(f"client_id:      {c.client_id}\nname:           {c.name}\n"
                      f"client_secret:  {c.client_secret}\nwebhook_secret: {c.webhook_secret}\n"
                      "(the secrets are shown only now; store them safely)")
        elif args.command == "list-clients":
            async with pool.acquire() as conn:
                for r in await repository.list_clients(conn):
                    state = "disabled" if r["disabled_at"] else "active"
                    print(f"{r['client_id']}  {state:<8}  {r['created_at']:%Y-%m-%d}  {r['name']}")
        elif args.command == "disable-client":
            async with pool.acquire() as conn:
                done = await repository.disable_client(conn, args.client_id)
            print("disabled" if done else "no such active client")
            if not done:
                raise SystemExit(1)
        elif args.command == "backfill-signature-fingerprints":
            print(f"filled {await fingerprints.backfill(pool)} usage records")
    finally:
        await pool.close()

