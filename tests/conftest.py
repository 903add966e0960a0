"""Fixtures for whole-system tests: one platform per test session, isolated from any other.

Each session gets its own database prefix, RabbitMQ vhost and ports, so a developer's
`make run` or another test run on the same machine is never touched.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from devstack.stack import ROOT, Stack, StackConfig, delete_vhost, drop_databases, ensure_vhost
from tests.support.api import Api
from tests.support.oidc_provider import OidcProvider
from tests.support.otlp import OtlpReceiver


@dataclass
class Platform:
    config: StackConfig
    stack: Stack
    vhost: str

    @property
    def gateway_url(self) -> str:
        return self.config.url("gateway")

    def url(self, service: str, replica: int = 0) -> str:
        return self.config.url(service, replica)

    def internal_url(self, service: str, replica: int = 0) -> str:
        """A replica's internal listener (/internal/*, /metrics): here public port + 10."""
        return self.config.internal_url(service, replica)

    def internal_urls(self, service: str) -> list[str]:
        """Every replica's internal listener (per-process state, e.g. a sandbox clock)."""
        return self.config.internal_urls(service)

    @property
    def log_dir(self) -> Path:
        assert self.config.log_dir is not None
        return self.config.log_dir

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="session")
def trace_receiver() -> Iterator[OtlpReceiver]:
    """Where the platform's processes export spans (OTLP/HTTP), kept in memory by trace id."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """The platform's 统一身份认证 provider (a local OpenID Connect provider, in a thread):
    tests choose who it logs in (``oidc_provider.reset(User(...))``)."""
    provider = OidcProvider().start_in_thread()
    yield provider
    provider.stop_thread()


# Tracing on, to the receiver; new traces are not sampled (ratio 0), so only requests that
# arrive with a sampled traceparent (tests/e2e/test_tracing.py) cost spans and exports.
def _tracing_env(receiver: OtlpReceiver) -> dict[str, str]:
    return {"ESEAL_OTLP_ENDPOINT": receiver.url, "ESEAL_TRACE_SAMPLE_RATIO": "0",
            "OTEL_BSP_SCHEDULE_DELAY": "100"}


# Chromium refuses some ports outright (net::ERR_UNSAFE_PORT): the gateway of a platform the
# browser tests open must not land on one (offset 2000 put it on 10080).
BROWSER_UNSAFE_PORTS = {6000, 6566, 6665, 6666, 6667, 6668, 6669, 6697, 10080}


def browser_safe_offset() -> int:
    while True:
        offset = random.randrange(20, 200) * 100
        if 8080 + offset not in BROWSER_UNSAFE_PORTS:
            return offset


@pytest.fixture(scope="session")
def platform(trace_receiver: OtlpReceiver, oidc_provider: OidcProvider) -> Iterator[Platform]:
    with start_platform(trace_receiver, oidc_provider) as started:
        yield started


@contextmanager
def start_platform(trace_receiver: OtlpReceiver, oidc_provider: OidcProvider, *,
                   extra_env: Callable[[str], dict[str, str]] | None = None,
                   replicas: int | None = None) -> Iterator[Platform]:
    """A whole platform of its own: the session's, or a module's with other settings
    (``extra_env(gateway_url)`` is added to every process's environment)."""
    run = uuid.uuid4().hex[:8]
    vhost = f"eseal_test_{run}"
    ensure_vhost(vhost)
    config = StackConfig(
        db_prefix=f"eseal_t{run}_",
        amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        port_offset=browser_safe_offset(),
        # Internal listeners at public + 10 (8090, 8111-8116 before the offset): every port of
        # a run then has its own remainder mod 100, so runs with different offsets never
        # collide (+1000 would land on another run's public ports).
        internal_port_offset=10,
        # Every service runs replicated (the gateway balances), so the whole e2e suite checks
        # that nothing relies on being the only process; ESEAL_REPLICAS=1 for a quicker run.
        replicas=replicas or int(os.environ.get("ESEAL_REPLICAS", "2")),
        env="test",
        log_dir=ROOT / ".run" / "test-logs" / run,
        extra_env={"ESEAL_LOG_JSON": "true", "ESEAL_LOG_LEVEL": "INFO",
                   "ESEAL_TEST_FAST_KDF": "1",
                   "ESEAL_RATE_LIMIT_SCALE": "100", "ESEAL_DB_POOL_MAX": "5",
                   **_tracing_env(trace_receiver)},
    )
    # 统一身份认证 login is configured, as a deployment would: the provider returns the browser
    # to the H5 callback page on this platform's gateway.
    config.extra_env.update(oidc_provider.settings(f"{config.url('gateway')}/app/login/oidc"))
    if extra_env is not None:
        config.extra_env.update(extra_env(config.url("gateway")))
    stack = Stack(config)
    stack.migrate()
    stack.start()
    try:
        stack.wait_ready(120)
        yield Platform(config, stack, vhost)
    finally:
        stack.stop()
        if not os.environ.get("ESEAL_KEEP_TEST_STATE"):
            asyncio.run(drop_databases(config.db_prefix))
            delete_vhost(vhost)


@pytest_asyncio.fixture(scope="session")
async def api(platform: Platform) -> AsyncIterator[Api]:
    client = Api(platform.gateway_url)
    yield client
    await client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """After a failed test on the session platform, start again any process it left dead
    (a crash or a test that killed one and stopped before restoring it): the failure is that
    test's own, and the tests after it still meet a whole platform."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    started = funcargs.get("platform")
    if report.failed and call.when != "setup" and isinstance(started, Platform):
        revived = started.stack.revive()
        if revived:
            report.sections.append(("platform", f"revived after the failure: {', '.join(revived)}"))
