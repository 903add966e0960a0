"""One application, two listeners: the public one (what the gateway forwards to, or the
ingress for the gateway) and the internal one (service-to-service calls, probes, scrapes).

``listener_guard`` decides per request from the socket it arrived on:
- public listener: ``/internal`` and ``/internal/*`` and ``/metrics`` answer 404 ``not_found``
  (the same answer as a route that does not exist: nothing tells an attacker they exist);
- internal listener: only ``/internal/*``, ``/metrics``, ``/healthz`` and ``/readyz``; the
  public API is not served there, so a pod that may reach internal ports (any eseal service)
  still has to go through the gateway for user-facing routes.

A socket the guard does not know as internal is public: an application served by a test
server on one port, or a listener added by mistake, never exposes internal endpoints.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import NotFound

OPERATIONAL = frozenset({"/healthz", "/readyz"})


@dataclass
class Listeners:
    """Local ports of this process's internal listeners (filled in when they are bound)."""

    internal_ports: set[int] = field(default_factory=set)


LISTENERS = web.AppKey("listeners", Listeners)


def internal_only(path: str) -> bool:
    """True for the paths the public listener must never serve.

    Compared without case and without repeated or trailing slashes, so that no spelling a
    lenient router or proxy might fold onto ``/internal/...`` or ``/metrics`` gets through.
    """
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    first = segments[0].casefold()
    return first == "internal" or (first == "metrics" and len(segments) == 1)


def _served_internally(path: str) -> bool:
    return internal_only(path) or path in OPERATIONAL


def local_port(request: web.Request) -> int | None:
    transport = request.transport
    if transport is None:
        return None
    name = transport.get_extra_info("sockname")
    if isinstance(name, tuple) and len(name) >= 2 and isinstance(name[1], int):
        return name[1]
    return None  # a Unix socket or a closed transport: treated as public


def is_internal(request: web.Request) -> bool:
    listeners = request.app.get(LISTENERS)
    port = local_port(request)
    return listeners is not None and port is not None and port in listeners.internal_ports


@web.middleware
async def listener_guard(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
    path = request.path
    if is_internal(request):
        if not _served_internally(path):
            raise NotFound("not found")
    elif internal_only(path) or internal_only(request.raw_path.split("?", 1)[0]):
        raise NotFound("not found")
    return await handler(request)


def install(app: web.Application, position: int = 1) -> None:
    """Called by ``shared.http.create_app``: every service and the gateway get the guard.

    Placed at ``position``: after ``request_context`` (the first middleware), which turns the
    404 into problem+json, and after the path check (a refused path is 400 whatever it
    names), before everything else (rate limits, handlers).
    """
    app[LISTENERS] = Listeners()
    app.middlewares.insert(position, listener_guard)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=512)
    sock.set_inheritable(False)
    return sock


def mark_internal(app: web.Application, sock: socket.socket) -> int:
    port = int(sock.getsockname()[1])
    app[LISTENERS].internal_ports.add(port)
    return port


def run(app: web.Application, *, host: str, public_port: int, internal_port: int,
        **kwargs: Any) -> None:
    """Serve ``app`` on both listeners until interrupted (``web.run_app`` with two sockets)."""
    if public_port and public_port == internal_port:
        raise ValueError("the internal listener needs its own port")
    public = bind(host, public_port)
    internal = bind(host, internal_port)
    mark_internal(app, internal)
    web.run_app(app, sock=[public, internal], print=None, **kwargs)


async def add_internal_site(runner: web.BaseRunner, host: str = "127.0.0.1") -> str:
    """Tests: open an internal listener on a free port next to a started runner; its URL."""
    app = runner.app if isinstance(runner, web.AppRunner) else None
    if app is None:
        raise TypeError("an AppRunner is needed")
    sock = bind(host, 0)
    port = mark_internal(app, sock)
    site = web.SockSite(runner, sock)
    await site.start()
    return f"http://{host}:{port}"
