"""Backup and restore of a platform with data (`make backup`, `make restore`).

A platform with its own secrets gets an enterprise, a seal, a person with an activated
certificate, a grant, a relying system and a stamped PDF (a usage record, messages in
notify). It is backed up with the command ops run, and stopped; the backup is restored into
fresh databases under another prefix, and a second platform on those databases, with the
secrets from the separately written, encrypted secrets file and a new RabbitMQ vhost, finds every seal,
grant, certificate, usage record and message again, verifies the stamped PDF, and still
signs with the restored keys.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from devstack.backup import DEFAULT_PG_URL, PASSPHRASE, START_ORDER
from devstack.stack import ROOT, SERVICES, Stack, StackConfig, delete_vhost, drop_databases, ensure_vhost
from tests.conftest import Platform
from tests.e2e.test_stamping import (
    Account,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    request_pdf,
    scan,
    stamp,
    verify,
)
from tests.support import identities as ids
from tests.support.api import Api
from tests.support.pdf_fixtures import make_test_pdf
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def platform_secrets() -> dict[str, str]:
    return {"ESEAL_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "ESEAL_KEYED_HASH_SECRET": secrets.token_urlsafe(32),
            "ESEAL_INTERNAL_SECRET": secrets.token_urlsafe(32),
            "ESEAL_STAMPING_CLIENT_TOKEN_SECRET": secrets.token_urlsafe(32)}


def config(prefix: str, vhost: str, log_dir: Path, keys: dict[str, str]) -> StackConfig:
    return StackConfig(
        db_prefix=prefix, amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        port_offset=random.randrange(20, 200) * 100, internal_port_offset=10, env="test",
        log_dir=log_dir,
        extra_env={"ESEAL_LOG_JSON": "true", "ESEAL_TEST_FAST_KDF": "1", "ESEAL_RATE_LIMIT_SCALE": "100",
                   "ESEAL_DB_POOL_MAX": "3", **keys})


def started(cfg: StackConfig, vhost: str, order: tuple[str, ...] | None = None) -> Platform:
    """A platform on ``cfg``; with ``order``, each service starts once the previous one listens."""
    ensure_vhost(vhost)
    stack = Stack(cfg)
    stack.migrate()
    try:
        for service in order or ():
            stack.start((service,))
            consuming(stack, service)
        stack.start(tuple(s for s in SERVICES if s not in stack.processes))
        stack.wait_ready(120)
    except BaseException:
        stack.stop()
        raise
    return Platform(cfg, stack, vhost)


def consuming(stack: Stack, service: str, timeout: float = 120) -> None:
    """Wait until ``service`` listens: its consumer (if any) is attached, its queue declared.

    Not /readyz = 200: that also waits for identity (revocation feed), which starts later.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.processes[service].poll() is not None:
            raise RuntimeError(f"{service} exited")
        try:
            with urllib.request.urlopen(stack.config.internal_url(service) + "/readyz", timeout=2):
                return
        except urllib.error.HTTPError as not_ready:
            if "consumer" not in json.loads(not_ready.read() or b"{}").get("failing", []):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{service} did not start")


def backup_tool(*args: str, prefix: str,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m devstack.backup` as `make backup` / `make restore` run it."""
    return subprocess.run([sys.executable, "-m", "devstack.backup", "--prefix", prefix, *args],
                          cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=300, check=False)


def env_lines(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


async def duplicates(api: Api, metrics_url: str) -> int:
    """Events notify received again and skipped (its ``duplicate`` outcome), from /metrics."""
    text = (await api.get(metrics_url)).body.decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("eseal_events_consumed_total{") and 'outcome="duplicate"' in line)


@pytest.fixture
def two_runs() -> Iterator[tuple[str, str]]:
    """Two database prefixes and vhosts (before and after), dropped afterwards."""
    run = uuid.uuid4().hex[:8]
    names = (f"eseal_t{run}a_", f"eseal_t{run}b_")
    yield names
    for prefix in names:
        asyncio.run(drop_databases(prefix))
        delete_vhost(prefix.rstrip("_"))


async def world_state(api: Api, enterprise: Account, person: Account, seal_id: str) -> dict[str, Any]:
    """Everything the test expects to find again, as the API shows it."""
    state: dict[str, Any] = {}
    state["seals"] = (await api.get("/api/v1/seals", token=enterprise.token)).json["items"]
    state["seal"] = (await api.get(f"/api/v1/seals/{seal_id}", token=enterprise.token)).json
    state["grants"] = (await api.get(f"/api/v1/seals/{seal_id}/grants", token=enterprise.token)).json["items"]
    for who, account in (("person", person), ("enterprise", enterprise)):
        state[f"{who}_certificate"] = (await api.get("/api/v1/certificate", token=account.token)).json
        state[f"{who}_usage"] = (await api.get("/api/v1/usage-records", token=account.token)).json["items"]
        state[f"{who}_messages"] = (await api.get("/api/v1/messages", token=account.token)).json["items"]
    state["my_seals"] = (await api.get(f"/api/v1/my/enterprises/{enterprise.id}/seals",
                                       token=person.token)).json
    return state


async def stamped_once(api: Api, client_tok: str, person: Account, seal: dict[str, Any],
                       pdf: bytes) -> tuple[str, bytes]:
    req = await request_pdf(api, client_tok, pdf, page=1, x=300.0, y=300.0, title="备份恢复测试")
    assert req.status == 201, req
    assert (await scan(api, person, req.json["qr_payload"])).status == 200
    done = await stamp(api, person, req.json["request_id"], seal)
    assert done.status == 201, done
    doc = await api.get(f"/api/v1/stamp-requests/{req.json['request_id']}/result", token=client_tok)
    assert doc.status == 200, doc
    return done.json["record_id"], doc.body


def test_a_restored_platform_has_everything_and_still_verifies_and_signs(
        two_runs: tuple[str, str], tmp_path: Path) -> None:
    before, after = two_runs
    keys = platform_secrets()
    logs = ROOT / ".run" / "test-logs" / before.strip("_")
    first = started(config(before, before.rstrip("_"), logs / "before", keys), before.rstrip("_"))
    try:
        data = asyncio.run(populate(first))
    finally:
        first.stack.stop()  # a restore does not need the old platform; two cores are shared

    data["backed_up_at"] = datetime.now(UTC)
    made = backup_tool("backup", "--dir", str(tmp_path / "backups"),
                       "--secrets-file", str(tmp_path / "vault" / "secrets.enc"), prefix=before,
                       env={**keys, PASSPHRASE: "a passphrase kept elsewhere"})
    assert made.returncode == 0, made.stderr
    (directory,) = (tmp_path / "backups").iterdir()
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["manifest.json", "identity.dump", "agents.dump", "certs.dump", "seals.dump", "stamping.dump",
         "notify.dump"])
    everything = b"".join(p.read_bytes() for p in directory.iterdir())
    assert not [name for name, value in keys.items() if value.encode() in everything]
    sealed = (tmp_path / "vault" / "secrets.enc").read_bytes()
    assert not [name for name, value in keys.items() if value.encode() in sealed]
    opened = backup_tool("secrets", str(tmp_path / "vault" / "secrets.enc"), prefix=before,
                         env={PASSPHRASE: "a passphrase kept elsewhere"})
    assert opened.returncode == 0, opened.stderr
    restored_keys = env_lines(opened.stdout)
    assert restored_keys == keys

    # the same backup cannot be poured over databases that hold data
    refused = backup_tool("restore", str(directory), prefix=before)
    assert refused.returncode == 1 and "not empty" in refused.stderr, refused.stderr
    done = backup_tool("restore", str(directory), prefix=after)
    assert done.returncode == 0, done.stderr

    # a new RabbitMQ vhost is a new broker: consumers first, so republished events find queues
    second = started(config(after, after.rstrip("_"), logs / "after", restored_keys), after.rstrip("_"),
                     order=START_ORDER)
    try:
        asyncio.run(check_restored(second, data))
    finally:
        second.stack.stop()


async def populate(platform: Platform) -> dict[str, Any]:
    api = Api(platform.gateway_url)
    try:
        enterprise = await new_enterprise(api)
        seal = await new_seal(api, enterprise)
        person = await new_person(api)
        await grant(api, enterprise, seal["seal_id"], person)
        client = create_client(platform, "备份验证系统")
        tok = await client_token(api, client)
        pdf = make_test_pdf(pages=2)
        record_id, stamped = await stamped_once(api, tok, person, seal, pdf)
        assert (await verify(api, stamped)).json["result"] == "passed"

        async def settled() -> dict[str, Any] | None:  # notify has applied every event
            state = await world_state(api, enterprise, person, seal["seal_id"])
            kinds = {m["kind"] for m in state["enterprise_messages"]}
            return state if {"seal_issued", "stamp_applied"} <= kinds and state["person_messages"] else None

        state = await eventually(settled, within=30, what="notify's messages")
        assert [r["record_id"] for r in state["enterprise_usage"]] == [record_id]
        return {"enterprise": enterprise, "person": person, "seal": seal, "client": client,
                "state": state, "stamped": stamped, "record_id": record_id, "pdf": pdf}
    finally:
        await api.close()


async def check_restored(platform: Platform, data: dict[str, Any]) -> None:
    api = Api(platform.gateway_url)
    try:
        enterprise, person, seal = data["enterprise"], data["person"], data["seal"]
        # the token-signing keys came back too: a token issued before the backup still works
        assert (await api.get("/api/v1/seals", token=enterprise.token)).status == 200
        # passwords (identity) and the client's secret (stamping) are restored
        enterprise.token = (await ids.login(api, "enterprise", enterprise.body["uscc"],
                                            enterprise.body["password"]))["access_token"]
        person.token = (await ids.login(api, "person", person.body["phone"],
                                        person.body["password"]))["access_token"]
        tok = await client_token(api, data["client"])

        state = await world_state(api, enterprise, person, seal["seal_id"])
        assert state == data["state"]
        assert state["seal"]["status"] == "active" and state["grants"] and state["my_seals"]
        assert state["person_certificate"]["status"] == "active"

        v = await verify(api, data["stamped"])
        assert v.status == 200 and v.json["result"] == "passed", v
        sig = v.json["signatures"][0]
        assert sig["intact"] and sig["trusted"] and sig["recorded"] is True
        assert sig["seal_id"] == seal["seal_id"] and sig["signer_name"] == person.name

        # the wrapped seal and person keys open with the restored master key: a new stamp
        record_id, again = await stamped_once(api, tok, person, seal, data["pdf"])
        assert (await verify(api, again)).json["result"] == "passed"
        usage = (await api.get("/api/v1/usage-records", token=enterprise.token)).json["items"]
        assert {r["record_id"] for r in usage} == {data["record_id"], record_id}

        # the relays republished their whole history; notify received it and applied none twice
        db = await asyncpg.connect(f"{DEFAULT_PG_URL}/{platform.config.db_prefix}notify")
        try:
            applied = await db.fetchval("SELECT count(*) FROM processed_events WHERE processed_at < $1",
                                        data["backed_up_at"])
        finally:
            await db.close()
        assert applied >= 5  # person, enterprise, seal, grant, stamp at least

        async def all_redelivered() -> int | None:
            seen = await duplicates(api, platform.internal_url("notify") + "/metrics")
            return seen if seen >= applied else None

        assert await eventually(all_redelivered, within=30, what="the republished history") == applied

        async def stamped_message() -> list[dict[str, Any]] | None:
            items = (await api.get("/api/v1/messages", token=enterprise.token)).json["items"]
            return items if len(items) > len(data["state"]["enterprise_messages"]) else None

        messages = await eventually(stamped_message, within=30, what="the new stamp's message")
        ids_ = [m["message_id"] for m in messages]
        assert len(ids_) == len(set(ids_)) == len(data["state"]["enterprise_messages"]) + 1
    finally:
        await api.close()
