"""Fail closed: a service process started without ESEAL_ENV is production, and production
refuses development secrets, keys and sandbox adapters before it migrates or listens
(exit code 2, one line on stderr naming the setting, never its value)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from devstack.stack import PYTHONPATH, ROOT, delete_vhost, drop_databases, ensure_vhost
from shared.settings import DEVELOPMENT_INTERNAL_SECRET

STRONG = "s" * 48  # long enough for every secret check
MASTER = base64.b64encode(b"k" * 32).decode()
DEV_CERTS_MASTER = base64.b64encode(__import__("hashlib").sha256(b"eseal-development-master-key")
                                    .digest()).decode()
# Unreachable database: if a guard let a process through it fails here, never on real data.
NOWHERE_PG = "postgresql://postgres@127.0.0.1:1"


def _environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESEAL_")}
    env.update({"PYTHONPATH": PYTHONPATH, "ESEAL_PG_URL": NOWHERE_PG,
                "ESEAL_DB_PREFIX": f"eseal_guard{uuid.uuid4().hex[:6]}_"})
    env.update(settings)
    return env


def _start(service: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", service], cwd=ROOT, env=_environment(**settings),
                          capture_output=True, text=True, timeout=60)


def _refused(service: str, setting: str, **settings: str) -> str:
    done = _start(service, **settings)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"eseal {service}: refusing to start:"), line
    assert setting in line, line
    return line


PROD_OK: dict[str, dict[str, str]] = {
    "identity": {"ESEAL_MASTER_KEY": MASTER, "ESEAL_KEYED_HASH_SECRET": STRONG},
    "agents": {},
    "certs": {"ESEAL_MASTER_KEY": MASTER, "ESEAL_SMS_PROVIDER": "http",
              "ESEAL_SMS_URL": "https://sms.example/api", "ESEAL_SMS_API_KEY": "key"},
    "seals": {},
    "stamping": {"ESEAL_STAMPING_CLIENT_TOKEN_SECRET": STRONG},
    "notify": {},
    "gateway": {},
}


@pytest.mark.parametrize("service", list(PROD_OK))
def test_unset_env_is_production_and_refuses_the_default_internal_secret(service: str) -> None:
    line = _refused(service, "ESEAL_INTERNAL_SECRET", **PROD_OK[service])
    assert DEVELOPMENT_INTERNAL_SECRET not in line  # named, never shown


def test_a_short_internal_secret_is_refused() -> None:
    _refused("seals", "ESEAL_INTERNAL_SECRET", ESEAL_INTERNAL_SECRET="x" * 31)
    _refused("notify", "ESEAL_INTERNAL_SECRET", ESEAL_ENV="production", ESEAL_INTERNAL_SECRET="short")


@pytest.mark.parametrize(("service", "setting", "change"), [
    ("identity", "ESEAL_MASTER_KEY", {"ESEAL_MASTER_KEY": ""}),
    ("identity", "ESEAL_MASTER_KEY", {"ESEAL_MASTER_KEY": base64.b64encode(b"short").decode()}),
    ("identity", "ESEAL_KEYED_HASH_SECRET", {"ESEAL_KEYED_HASH_SECRET": "too-short"}),
    ("identity", "ESEAL_FACE_PROVIDER", {"ESEAL_FACE_PROVIDER": "sandbox"}),
    ("identity", "ESEAL_TEST_FAST_KDF", {"ESEAL_TEST_FAST_KDF": "1"}),
    ("agents", "ESEAL_REALNAME_PROVIDER", {"ESEAL_REALNAME_PROVIDER": "sandbox"}),
    ("certs", "ESEAL_MASTER_KEY", {"ESEAL_MASTER_KEY": ""}),
    ("certs", "ESEAL_MASTER_KEY", {"ESEAL_MASTER_KEY": DEV_CERTS_MASTER}),
    ("certs", "ESEAL_SMS_PROVIDER", {"ESEAL_SMS_PROVIDER": "sandbox"}),
    ("certs", "ESEAL_SMS_URL", {"ESEAL_SMS_URL": ""}),
    # A Tencent Cloud provider without its account: the missing variable is named.
    ("identity", "ESEAL_TENCENT_SECRET_ID", {"ESEAL_FACE_PROVIDER": "tencent"}),
    ("agents", "ESEAL_TENCENT_SECRET_KEY", {"ESEAL_REALNAME_PROVIDER": "tencent",
                                            "ESEAL_TENCENT_SECRET_ID": "AKIDguard"}),
    ("certs", "ESEAL_TENCENT_SECRET_ID", {"ESEAL_SMS_PROVIDER": "tencent"}),
    ("stamping", "ESEAL_STAMPING_CLIENT_TOKEN_SECRET", {"ESEAL_STAMPING_CLIENT_TOKEN_SECRET": "x"}),
    ("notify", "ESEAL_INTERNAL_PORT", {"ESEAL_PORT": "18106", "ESEAL_INTERNAL_PORT": "18106"}),
])
def test_production_refuses_development_keys_and_sandboxes(service: str, setting: str,
                                                           change: dict[str, str]) -> None:
    settings = {"ESEAL_INTERNAL_SECRET": STRONG, **PROD_OK[service], **change}
    if settings.get("ESEAL_MASTER_KEY") == "":
        del settings["ESEAL_MASTER_KEY"]  # unset, not empty
    _refused(service, setting, **settings)


def test_an_unknown_environment_name_is_refused() -> None:
    _refused("notify", "ESEAL_ENV", ESEAL_ENV="prod", ESEAL_INTERNAL_SECRET=STRONG)


def test_development_keeps_its_defaults() -> None:
    """Outside production the guards pass: the process gets as far as the database."""
    done = _start("notify", ESEAL_ENV="development")
    assert done.returncode not in (0, 2), done.stderr[-500:]
    assert "refusing to start" not in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


class _FakeIdentity(http.server.BaseHTTPRequestHandler):
    """identity's internal revocation list, empty: a service is ready only once it loaded it."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.dumps({"items": []} if self.path.startswith("/internal/revocations")
                          else {"keys": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def fake_identity() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeIdentity)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def production_notify(fake_identity: str) -> Iterator[tuple[str, str]]:
    """notify in production with proper settings, its own database and vhost."""
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"eseal_guard_{run}", f"eseal_g{run}_"
    ensure_vhost(vhost)
    public, internal = _free_port(), _free_port()
    env = _environment(ESEAL_INTERNAL_SECRET=STRONG, ESEAL_PORT=str(public),
                       ESEAL_IDENTITY_INTERNAL_URL=fake_identity,
                       ESEAL_INTERNAL_PORT=str(internal), ESEAL_DB_PREFIX=prefix,
                       ESEAL_PG_URL="postgresql://postgres@127.0.0.1:5432",
                       ESEAL_AMQP_URL=f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    proc = subprocess.Popen([sys.executable, "-m", "notify"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{public}", f"http://127.0.0.1:{internal}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        import asyncio

        asyncio.run(drop_databases(prefix))
        delete_vhost(vhost)


def test_production_with_proper_settings_starts_with_two_listeners(
        production_notify: tuple[str, str]) -> None:
    public, internal = production_notify
    deadline = time.monotonic() + 60
    while _get_or_none(internal + "/readyz") != 200:
        assert time.monotonic() < deadline, "notify did not become ready in production"
        time.sleep(0.3)
    assert _get(internal + "/metrics") == 200
    assert _get(public + "/healthz") == 200
    assert _get(public + "/metrics") == 404
    assert _get(public + "/api/v1/sandbox/sms") == 404


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)
    except OSError:
        return None


def test_an_application_with_sandbox_routes_is_refused_in_production(
        capsys: pytest.CaptureFixture[str]) -> None:
    from aiohttp import web

    from shared.http import create_app
    from shared.production import check_app
    from shared.settings import ServiceSettings

    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    app = create_app()
    app.router.add_post("/api/v1/sandbox/face-checks/{id}/pass", handler)
    check_app(ServiceSettings(env="development"), app)  # allowed outside production
    with pytest.raises(SystemExit) as exit_:
        check_app(ServiceSettings(env="production", internal_secret=STRONG), app)
    assert exit_.value.code == 2
    assert "/api/v1/sandbox/" in capsys.readouterr().err


def test_services_built_for_production_have_no_sandbox_routes() -> None:
    from certs.bootstrap import create_app as certs_app
    from certs.config import CertsSettings
    from identity.bootstrap import create_app as identity_app
    from identity.config import IdentitySettings

    from shared.production import sandbox_routes

    prod = {"env": "production", "internal_secret": STRONG, "master_key": MASTER}
    assert sandbox_routes(identity_app(IdentitySettings(**prod, keyed_hash_secret=STRONG))) == []
    assert sandbox_routes(certs_app(CertsSettings(**prod, sms_provider="http"))) == []
    # and the check sees them where they exist
    assert sandbox_routes(identity_app(IdentitySettings(env="test")))
    assert sandbox_routes(certs_app(CertsSettings(env="test")))
