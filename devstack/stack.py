"""Start the whole platform on loopback: databases, migrations, every service, the gateway.

Used by ``make run`` (``python -m devstack``) and by the end-to-end tests, which give each
run its own database prefix, RabbitMQ vhost and ports so runs never see each other.

Replicas (``ESEAL_REPLICAS=N``, ``StackConfig(replicas=N)``): N processes of every service
behind one gateway. Port rule: replica *i* listens on the service's port + 20·i (its internal
listener on that + the internal offset), e.g. identity 8101, 8121, 8141 (internal 9101, 9121,
9141). With at most 5 replicas and the tests' internal = public + 10, every port of a
platform still has its own remainder mod 100 (gateway 80/90, replica i 01-06 + 20i and
11-16 + 20i), so test platforms whose offsets differ by multiples of 100 never collide.
Processes are named ``identity`` (replica 0), ``identity.1``, ``identity.2``…
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "agents", "certs", "seals", "stamping", "notify", "gateway")
DEFAULT_PORTS = {"gateway": 8080, "identity": 8101, "agents": 8102, "certs": 8103,
                 "seals": 8104, "stamping": 8105, "notify": 8106}
# Each service's internal listener (/internal/*, /metrics, probes): public port + 1000.
INTERNAL_PORT_OFFSET = 1000
# Replica i of a service: its ports + i * REPLICA_PORT_STEP (module docstring: the port rule).
REPLICA_PORT_STEP = 20
MAX_REPLICAS = 5
PYTHONPATH = os.pathsep.join(
    [str(ROOT)] + [str(ROOT / "services" / s) for s in SERVICES])


@dataclass
class StackConfig:
    db_prefix: str = "eseal_"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    port_offset: int = 0
    env: str = "development"
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Internal listener = public port + this (the platform's rule; tests may pick another).
    internal_port_offset: int = INTERNAL_PORT_OFFSET
    # Processes of every service except the gateway (one gateway balances across them).
    replicas: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise ValueError(f"replicas must be 1…{MAX_REPLICAS}, not {self.replicas}")

    def replica_count(self, service: str) -> int:
        return 1 if service == "gateway" else self.replicas

    def port(self, service: str, replica: int = 0) -> int:
        return DEFAULT_PORTS[service] + self.port_offset + REPLICA_PORT_STEP * replica

    def url(self, service: str, replica: int = 0) -> str:
        return f"http://127.0.0.1:{self.port(service, replica)}"

    def internal_port(self, service: str, replica: int = 0) -> int:
        return self.port(service, replica) + self.internal_port_offset

    def internal_url(self, service: str, replica: int = 0) -> str:
        return f"http://127.0.0.1:{self.internal_port(service, replica)}"

    def urls(self, service: str) -> list[str]:
        return [self.url(service, i) for i in range(self.replica_count(service))]

    def internal_urls(self, service: str) -> list[str]:
        return [self.internal_url(service, i) for i in range(self.replica_count(service))]

    def process_names(self) -> tuple[str, ...]:
        """Every process of the platform: ``identity``, ``identity.1``, …, ``gateway``."""
        return tuple(process_name(s, i) for s in SERVICES for i in range(self.replica_count(s)))

    def environment(self, process: str) -> dict[str, str]:
        service, replica = parse_process_name(process)
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": PYTHONPATH, "PYTHONUNBUFFERED": "1",
            "ESEAL_ENV": self.env, "ESEAL_PORT": str(self.port(service, replica)),
            "ESEAL_INTERNAL_PORT": str(self.internal_port(service, replica)),
            "ESEAL_DB_PREFIX": self.db_prefix, "ESEAL_AMQP_URL": self.amqp_url,
        })
        # every replica, comma-separated, same order in both lists (shared.upstreams)
        env.update({f"ESEAL_{s.upper()}_URL": ",".join(self.urls(s)) for s in SERVICES})
        env.update({f"ESEAL_{s.upper()}_INTERNAL_URL": ",".join(self.internal_urls(s))
                    for s in SERVICES})
        env.update(self.extra_env)
        return env


def process_name(service: str, replica: int) -> str:
    return service if replica == 0 else f"{service}.{replica}"


def parse_process_name(name: str) -> tuple[str, int]:
    """``"seals.1"`` → ``("seals", 1)``; ``"seals"`` → ``("seals", 0)``."""
    service, _, replica = name.partition(".")
    return service, int(replica or 0)


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _output(self, service: str) -> int | None:
        if self.config.log_dir is None:
            return None
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        return os.open(self.config.log_dir / f"{service}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def migrate(self) -> None:
        procs = [subprocess.Popen([sys.executable, "-m", s, "migrate"], cwd=ROOT,
                                  env=self.config.environment(s))
                 for s in SERVICES if s != "gateway"]
        for p in procs:
            if p.wait(timeout=120) != 0:
                raise RuntimeError("migration failed")

    def start(self, services: tuple[str, ...] | None = None) -> None:
        """Start processes by name (``seals``, ``seals.1``; default, None: all of them).

        An empty tuple starts nothing: ``start(())`` once started the whole platform a second
        time, whose processes then failed to bind and replaced the live ones in
        ``self.processes``, so ``stop`` left the live ones running."""
        for s in self.config.process_names() if services is None else services:
            running = self.processes.get(s)
            if running is not None and running.poll() is None:
                raise RuntimeError(f"{s} is already running (pid {running.pid})")
            out = self._output(s)
            self.processes[s] = subprocess.Popen(
                [sys.executable, "-m", parse_process_name(s)[0]], cwd=ROOT,
                env=self.config.environment(s),
                stdout=out, stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True)
            if out is not None:
                os.close(out)

    def kill(self, process: str) -> None:
        """SIGKILL one process (a crash, for tests): no shutdown, no goodbye to the broker."""
        p = self.processes[process]
        p.kill()
        p.wait()

    def revive(self, timeout: float = 120.0) -> tuple[str, ...]:
        """Start again every process that has exited (killed by a test that then failed
        before restoring it), so one broken test does not take the tests after it down."""
        dead = tuple(s for s, p in self.processes.items() if p.poll() is not None)
        if dead:
            self.start(dead)
            self.wait_ready(timeout, dead)
        return dead

    def wait_ready(self, timeout: float = 90.0, services: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.config.process_names() if services is None else services)
        while pending:
            for s in list(pending):
                proc = self.processes.get(s)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{s} exited with {proc.returncode}")
                try:
                    probe = self.config.internal_url(*parse_process_name(s)) + "/readyz"
                    with urllib.request.urlopen(probe, timeout=2) as r:  # noqa: S310 - our http:// URL
                        if r.status == 200:
                            pending.discard(s)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready: {sorted(pending)}")
            if pending:
                time.sleep(0.3)

    def stop(self, services: tuple[str, ...] | None = None) -> None:
        names = tuple(self.processes) if services is None else services
        for s in names:
            p = self.processes.get(s)
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGINT)
        for s in names:
            p = self.processes.pop(s, None)
            if p is None:
                continue
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def ensure_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=False, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)


def delete_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True)


async def drop_databases(prefix: str, pg_url: str = "postgresql://postgres@127.0.0.1:5432") -> None:
    from shared.db import drop_database

    for s in SERVICES:
        await drop_database(pg_url, prefix + s)


def demo_client(config: StackConfig) -> dict[str, str] | None:
    """The demo relying system's credentials: created once, reused while they still work."""
    import base64
    import json

    # one file per database prefix: a test's platform never replaces the developer's client
    suffix = "" if config.db_prefix == "eseal_" else "-" + config.db_prefix.rstrip("_")
    path = ROOT / ".run" / f"demo-client{suffix}.json"
    if path.exists():
        client = json.loads(path.read_text(encoding="utf-8"))
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        req = urllib.request.Request(config.url("gateway") + "/api/v1/oauth/token",  # noqa: S310 - our http:// URL
                                     data=b"grant_type=client_credentials", method="POST",
                                     headers={"Authorization": f"Basic {basic}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - our http:// URL
                if r.status == 200:
                    return dict(client)
        except OSError:
            pass  # unknown to this database (it was reset): make a new one
    out = subprocess.run([sys.executable, "-m", "stamping", "create-client", "--name", "演示业务系统",
                          "--json"], cwd=ROOT, env=config.environment("stamping"),
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"eseal: could not create the demo client: {out.stderr.strip()[-300:]}", flush=True)
        return None
    client = json.loads(out.stdout.strip().splitlines()[-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(client, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)
    return dict(client)


def _stop_on_sigterm() -> None:
    """SIGTERM (a process manager, `kill`) stops the platform like Ctrl-C: no orphans left
    holding the ports."""
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def main() -> None:
    _stop_on_sigterm()
    config = StackConfig(port_offset=int(os.environ.get("ESEAL_DEVSTACK_PORT_OFFSET", "0")),
                         db_prefix=os.environ.get("ESEAL_DB_PREFIX", "eseal_"),
                         amqp_url=os.environ.get("ESEAL_AMQP_URL", StackConfig.amqp_url),
                         replicas=int(os.environ.get("ESEAL_REPLICAS", "1")))
    stack = Stack(config)
    print("eseal: creating databases and applying migrations…", flush=True)
    try:
        stack.migrate()
        stack.start()
        stack.wait_ready()
        gw = config.url("gateway")
        client = demo_client(config)
        demo = (f"{gw}/demo/?client_id={client['client_id']}&client_secret={client['client_secret']}"
                if client else f"{gw}/demo/")
        print(f"\neseal is up: {gw}\n  API:        {gw}/api/v1  (OpenAPI: {gw}/api/v1/openapi.json)"
              f"\n  H5 client:  {gw}/app/\n  demo:       {demo}\n  verify:     {gw}/verify/"
              f"\n  internal:   {config.internal_url('gateway')}/metrics and each service's port + "
              f"{config.internal_port_offset} (/internal/*, /metrics)"
              + (f"\n  replicas:   {config.replicas} of every service, replica i on its ports"
                 f" + {REPLICA_PORT_STEP}·i" if config.replicas > 1 else "")
              + "\nPress Ctrl-C to stop.\n", flush=True)
        supervisor = Supervisor(stack)
        while True:  # until Ctrl-C or SIGTERM; crashed services come back with backoff
            supervisor.tick()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\neseal: stopping…", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the stop short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
