"""Fail closed: a service started without ``ESEAL_ENV`` is in production and refuses to run
with the default internal secret (or, for identity, without a master key): exit code 2 and a
clear message on stderr, before it listens.

Started the way devstack starts a service (``python -m <service>`` in its environment), on
free ports, against the test run's databases.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys

import pytest

from devstack.stack import ROOT, SERVICES
from tests.conftest import Platform

pytestmark = pytest.mark.e2e

START_TIMEOUT = 45.0  # seconds; a process still running then did not fail closed
STRONG_SECRET = base64.b64encode(os.urandom(48)).decode()


def mentions(out: str, setting: str) -> bool:
    """The message names the setting (``ESEAL_X_Y``, ``X_Y`` or "x y")."""
    low = out.lower()
    return setting.lower() in low or setting.lower().replace("_", " ") in low


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(platform: Platform, service: str, **changes: str | None) -> dict[str, str]:
    env = platform.config.environment(service)
    env.update(ESEAL_PORT=str(free_port()), ESEAL_INTERNAL_PORT=str(free_port()))
    for name in (
        "ESEAL_INTERNAL_SECRET",
        "ESEAL_MASTER_KEY",
        "ESEAL_KEYED_HASH_SECRET",
        "ESEAL_TEST_FAST_KDF",
    ):
        env.pop(name, None)
    # The session platform logs in through a local (plain http) OIDC provider, which
    # production rightly refuses too: these tests are about the settings above.
    for name in [n for n in env if n.startswith("ESEAL_OIDC_")]:
        del env[name]
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


async def start(service: str, env: dict[str, str]) -> tuple[int | None, str]:
    """Exit code (None: still running after the timeout, then stopped) and stderr+stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        service,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(START_TIMEOUT):
            out, _ = await proc.communicate()
        return proc.returncode, out.decode(errors="replace")
    except TimeoutError:
        proc.kill()  # ours: started just above
        out, _ = await proc.communicate()
        return None, out.decode(errors="replace")


async def test_unset_env_with_the_default_secret_exits_2(platform: Platform) -> None:
    results = await asyncio.gather(*(start(s, environment(platform, s, ESEAL_ENV=None)) for s in SERVICES))
    wrong = {s: (code, out[-400:]) for s, (code, out) in zip(SERVICES, results, strict=True) if code != 2}
    assert not wrong, f"did not exit with 2: {wrong}"
    for s, (_, out) in zip(SERVICES, results, strict=True):
        assert mentions(out, "INTERNAL_SECRET"), (s, out[-400:])


async def test_production_with_the_default_secret_exits_2(platform: Platform) -> None:
    code, out = await start("gateway", environment(platform, "gateway", ESEAL_ENV="production"))
    assert code == 2 and mentions(out, "INTERNAL_SECRET"), (code, out[-400:])


async def test_production_identity_without_a_master_key_exits_2(platform: Platform) -> None:
    env = environment(
        platform,
        "identity",
        ESEAL_ENV=None,
        ESEAL_INTERNAL_SECRET=STRONG_SECRET,
        ESEAL_KEYED_HASH_SECRET=STRONG_SECRET,
    )
    code, out = await start("identity", env)
    assert code == 2 and mentions(out, "MASTER_KEY"), (code, out[-400:])


async def test_production_refuses_the_test_kdf(platform: Platform) -> None:
    master = base64.b64encode(os.urandom(32)).decode()
    env = environment(
        platform,
        "identity",
        ESEAL_ENV="production",
        ESEAL_INTERNAL_SECRET=STRONG_SECRET,
        ESEAL_KEYED_HASH_SECRET=STRONG_SECRET,
        ESEAL_MASTER_KEY=master,
        ESEAL_TEST_FAST_KDF="1",
    )
    code, out = await start("identity", env)
    assert code == 2 and mentions(out, "TEST_FAST_KDF"), (code, out[-400:])
