"""The subscriber provisioner over the RabbitMQ HTTP management API.

Chosen when ``ESEAL_RABBITMQ_MANAGEMENT_URL`` is set (docker compose's
``rabbitmq:3.13-management``, a managed broker in Kubernetes): no ``rabbitmqctl`` and no
access to the broker's node are needed, and the subscriber's password travels in a JSON
body over the management connection, never on a command line. The same user, permissions,
topic permissions and queue as ``adapters.broker.Broker`` (docs/EVENTS.md "Subscribers"):

- ``GET /api/users/{user}`` (200: taken, refused), ``PUT /api/users/{user}``
  ``{"password", "tags": ""}`` (also sets a new password: rotation);
- ``PUT /api/permissions/{vhost}/{user}`` ``{"configure": "^$", "write": "^$", "read": …}``;
- ``PUT /api/topic-permissions/{vhost}/{user}`` ``{"exchange": "eseal.events", "write": "^$",
  "read": "^$"}``;
- ``DELETE /api/users/{user}`` (the broker closes the user's connections itself), then every
  connection ``GET /api/connections`` still lists for the user is closed with
  ``DELETE /api/connections/{name}`` (``X-Reason`` header).

The management user (``ESEAL_RABBITMQ_MANAGEMENT_USER``, ``…_PASSWORD`` or
``…_PASSWORD_FILE``) needs the ``administrator`` tag; its password is never logged or
shown in errors.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from shared.bus import EVENTS_EXCHANGE

from .broker import NOTHING, BrokerError, declare_queue, delete_queue, queue_name, read_pattern, vhost_of

DISABLED_REASON = "subscriber disabled"


def _segment(value: str) -> str:
    """One path segment of the API: everything escaped, ``/`` (the default vhost) too."""
    return quote(value, safe="")


@dataclass(frozen=True)
class ManagementBroker:
    amqp_url: str
    management_url: str
    management_user: str
    management_password: str = field(repr=False)
    timeout: float = 10.0

    @property
    def vhost(self) -> str:
        return vhost_of(self.amqp_url)

    def _url(self, *segments: str) -> str:
        return self.management_url.rstrip("/") + "/api/" + "/".join(_segment(s) for s in segments)

    def _session(self) -> aiohttp.ClientSession:
        token = base64.b64encode(f"{self.management_user}:{self.management_password}".encode()).decode()
        return aiohttp.ClientSession(
            headers={"Authorization": f"Basic {token}"},
            timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def _call(self, session: aiohttp.ClientSession, method: str, *segments: str,
                    body: dict[str, str] | None = None, params: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None, missing_ok: bool = False) -> Any:
        url = self._url(*segments)
        what = f"{method} /api/{'/'.join(segments[:1])}"
        try:
            async with session.request(method, url, json=body, params=params, headers=headers) as r:
                if r.status == 404 and missing_ok:
                    return None
                if r.status >= 400:
                    text = (await r.text())[:300]
                    hint = " (check ESEAL_RABBITMQ_MANAGEMENT_USER and its password)" \
                        if r.status in (401, 403) else ""
                    raise BrokerError(f"the management API refused {what}: {r.status} {text}{hint}")
                if r.content_type == "application/json" and r.status == 200:
                    return await r.json()
                return None
        except aiohttp.ClientError as e:
            raise BrokerError(f"the management API at {self.management_url} cannot be reached: "
                              f"{type(e).__name__}") from e
        except TimeoutError as e:
            raise BrokerError(f"the management API at {self.management_url} did not answer "
                              f"within {self.timeout:g} s") from e

    async def _user_exists(self, session: aiohttp.ClientSession, user: str) -> bool:
        return await self._call(session, "GET", "users", user, missing_ok=True) is not None

    async def provision(self, slug: str, password: str, routing_keys: Iterable[str]) -> None:
        """Create the user, its permissions, its queue and exactly these bindings.

        Users are broker-wide (not per vhost): an existing user of that name is never taken
        over (it may belong to another platform on the same broker); choose another slug.
        """
        user = queue_name(slug)
        async with self._session() as session:
            if await self._user_exists(session, user):
                raise BrokerError(f"the broker user {user} exists already: choose another --slug")
            await declare_queue(self.amqp_url, slug, routing_keys)
            await self._call(session, "PUT", "users", user, body={"password": password, "tags": ""})
            await self._call(session, "PUT", "permissions", self.vhost, user, body={
                "configure": NOTHING, "write": NOTHING, "read": read_pattern(slug)})
            await self._call(session, "PUT", "topic-permissions", self.vhost, user, body={
                "exchange": EVENTS_EXCHANGE, "write": NOTHING, "read": NOTHING})

    async def change_password(self, slug: str, password: str) -> None:
        user = queue_name(slug)
        async with self._session() as session:
            if not await self._user_exists(session, user):
                raise BrokerError(f"the broker user {user} does not exist")
            await self._call(session, "PUT", "users", user, body={"password": password, "tags": ""})

    async def cut_off(self, slug: str) -> None:
        """Delete the user, close its open connections, delete its queue: at once."""
        user = queue_name(slug)
        async with self._session() as session:
            await self._call(session, "DELETE", "users", user, missing_ok=True)
            listed = await self._call(session, "GET", "connections",
                                      params={"columns": "name,user"}) or []
            for connection in listed:
                if isinstance(connection, dict) and connection.get("user") == user:
                    await self._call(session, "DELETE", "connections", str(connection["name"]),
                                     headers={"X-Reason": DISABLED_REASON}, missing_ok=True)
        await delete_queue(self.amqp_url, slug)
