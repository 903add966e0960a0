"""Replicas of one service: which to call next, which to leave alone, when to try another.

``ESEAL_<SVC>_URL`` and ``ESEAL_<SVC>_INTERNAL_URL`` may each be a comma-separated list of
replicas (the same replicas, in the same order). Calls go round-robin over the replicas
thought healthy. A replica is left out ("ejected") when

* a call could not reach it (connection refused, reset, closed before the answer): for
  ``PASSIVE_EJECT_SECONDS``, or until an active check finds it ready again;
* an active check (the gateway polls each replica's internal ``/readyz``) fails — refused,
  or answered other than 200; a check that times out changes nothing (busy is not down):
  until a later check passes.

Retry rule (``may_retry``): a failed attempt is repeated on the next replica only when the
request cannot have had an effect twice:

* the connection was never established (refused, unreachable, connect timeout): the request
  was not sent, so any method is retried, POST included;
* the connection broke before any byte of the answer (reset, closed, disconnected): only
  idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) whose body can be sent again;
* a timeout waiting for the answer, or any failure once the answer started: never (the
  replica may be working on it; the caller gets 503 or the truncated stream).

With one replica nothing is ejected: it is always tried (a single URL behaves as before,
e.g. a Kubernetes Service that balances by itself).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence

import aiohttp

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
PASSIVE_EJECT_SECONDS = 5.0


def split_urls(value: str) -> list[str]:
    """``"http://a:1, http://b:2/"`` → ``["http://a:1", "http://b:2"]``."""
    urls = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
    if not urls:
        raise ValueError("no URL given")
    return urls


def with_path(urls: str, path: str) -> str:
    """Append ``path`` to every URL of a list: ``"http://a,http://b"`` → ``"http://a/x,http://b/x"``."""
    return ",".join(u + path for u in split_urls(urls))


def not_sent(exc: BaseException) -> bool:
    """True if the request never left: the connection to the replica was not established."""
    # aiohttp raises ClientConnectorError (refused, unreachable, DNS) and
    # ConnectionTimeoutError (sock_connect elapsed) before a byte of the request is written.
    return isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


def broke_before_answer(exc: BaseException) -> bool:
    """True if the connection broke before any byte of the answer (the request may have arrived)."""
    if isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        return False  # a slow replica may still be doing the work
    return isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
                            aiohttp.ClientConnectionResetError))


def may_retry(method: str, exc: BaseException, *, replayable_body: bool = True) -> bool:
    """The retry rule above: may a failed attempt be repeated on another replica?"""
    if not_sent(exc):
        return True
    return (method.upper() in IDEMPOTENT_METHODS and replayable_body
            and broke_before_answer(exc))


def unreachable(exc: BaseException) -> bool:
    """Failures that say "this replica is down" (eject it), not "this call was slow"."""
    return not_sent(exc) or broke_before_answer(exc)


class Replicas:
    """The replicas of one service, round-robin over those not ejected."""

    def __init__(self, urls: Sequence[str] | str, *, health_urls: Sequence[str] | None = None,
                 eject_seconds: float = PASSIVE_EJECT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.urls = split_urls(urls) if isinstance(urls, str) else [u.rstrip("/") for u in urls]
        if not self.urls:
            raise ValueError("no URL given")
        # Where each replica's readiness is asked (internal listener), if known: same order.
        self.health_urls = list(health_urls) if health_urls is not None else None
        if self.health_urls is not None and len(self.health_urls) != len(self.urls):
            raise ValueError(f"{len(self.urls)} URLs but {len(self.health_urls)} internal URLs")
        self.eject_seconds, self._clock = eject_seconds, clock
        self._ejected_until = [0.0] * len(self.urls)
        # An active check found the replica not ready (until a later check finds it ready).
        self._down = [False] * len(self.urls)
        self._next = itertools.count()
        # Until a check found one replica ready, a checked service is not routable (the
        # gateway's readiness waits for it); without checks there is nothing to wait for.
        self.seen_ready = not self.active_checks

    @property
    def active_checks(self) -> bool:
        return self.health_urls is not None and len(self.urls) > 1

    def __len__(self) -> int:
        return len(self.urls)

    def healthy(self, index: int) -> bool:
        return len(self.urls) == 1 or (not self._down[index]
                                       and self._ejected_until[index] <= self._clock())

    def order(self) -> list[str]:
        """This call's attempt order: healthy replicas, starting at the round-robin cursor.
        None healthy: those only a failed call left out, as a last resort (a passive ejection
        is a guess: on a loaded machine a connect can time out on a live replica); empty only
        when active checks found every replica not ready (they know: answer 503 at once)."""
        n = len(self.urls)
        start = next(self._next) % n
        indices = [(start + k) % n for k in range(n)]
        healthy = [self.urls[i] for i in indices if self.healthy(i)]
        if healthy:
            return healthy
        return [self.urls[i] for i in indices if not self._down[i]]

    def failed(self, url: str) -> None:
        """A call could not reach ``url``: leave it out for a while (passive ejection)."""
        i = self.urls.index(url)
        self._ejected_until[i] = max(self._ejected_until[i], self._clock() + self.eject_seconds)

    def checked(self, index: int, ready: bool) -> None:
        """Result of an active check: ready replicas are back at once, others stay out."""
        self._down[index] = not ready
        if ready:
            self._ejected_until[index] = 0.0
        self.seen_ready = self.seen_ready or ready

    def ejected(self) -> list[str]:
        return [u for i, u in enumerate(self.urls) if not self.healthy(i)]

    async def check_all(self, session: aiohttp.ClientSession, limit: float = 1.5) -> None:
        """Ask each replica's ``/readyz`` once (no-op without health URLs or with one replica)."""
        if not self.active_checks:
            return
        assert self.health_urls is not None

        async def one(i: int, url: str) -> None:
            try:
                async with session.get(url + "/readyz",
                                       timeout=aiohttp.ClientTimeout(total=limit)) as r:
                    self.checked(i, r.status == 200)
            except TimeoutError:
                pass  # busy (e.g. signing PDFs) is not down: the last verdict stands
            except aiohttp.ClientError:
                self.checked(i, False)

        await asyncio.gather(*(one(i, u) for i, u in enumerate(self.health_urls)))


async def keep_checking(all_replicas: Sequence[Replicas], session: aiohttp.ClientSession,
                        interval: float) -> None:
    """Active health checks, every ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.gather(*(r.check_all(session) for r in all_replicas))
        await asyncio.sleep(interval)
