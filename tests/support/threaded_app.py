"""An aiohttp app of a test double, served in the test's loop or in a thread of its own.

``serve(app, host, port)`` starts the app on a TCP site and answers the runner and the port
(the one the OS chose for port 0). ``AppThread`` runs a double's ``start``/``stop`` coroutines
in an event loop of a thread of its own, for the platform's processes whatever loop a test
uses (the local OIDC provider, the fake Tencent Cloud).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web


async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0,
                **runner_options: Any) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, runner.addresses[0][1]


class AppThread:
    """``start()`` runs ``start_app`` in a new thread's loop and waits for it; ``stop()`` stops
    the loop, which then runs ``stop_app`` and closes."""

    def __init__(self, name: str, start_app: Callable[[], Awaitable[object]],
                 stop_app: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._start_app, self._stop_app = start_app, stop_app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._start_app())
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._stop_app())
        loop.close()

    def start(self, what: str, timeout: float = 10) -> AppThread:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"{what} did not start")
        return self

    def stop(self, timeout: float = 10) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
