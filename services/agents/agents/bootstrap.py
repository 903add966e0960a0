"""Wiring of the agents service: settings, spec, process entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

from aiohttp import web

from shared import ServiceSettings, ServiceSpec, build_app, main
from shared.china_time import today_in_china
from shared.service import DB, SETTINGS, STORE, client
from shared.unit_of_work import Database

from .adapters.identity import HttpIdentity
from .adapters.realname import realname_verifier
from .adapters.repository import PgAgentStorage
from .entrypoints.http import AGENTS, setup_routes
from .projections.agent_list import AgentListProjection
from .service_layer.context import Agents

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class AgentsSettings(ServiceSettings):
    service_name: ClassVar[str] = "agents"

    max_body_bytes: int = 64 * 1024
    realname_provider: str | None = None  # sandbox | none; unset: sandbox outside production
    # Sandbox only: ID numbers the sandbox real-name check says do not match their name.
    sandbox_realname_reject: str = ""

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.realname_provider == "sandbox":
            problems.append("ESEAL_REALNAME_PROVIDER=sandbox")
        return problems


async def agents_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert isinstance(settings, AgentsSettings)
    app[AGENTS] = Agents(
        storage=PgAgentStorage(Database(app[DB], app[STORE], (AgentListProjection(),))),
        identity=HttpIdentity(client(app, "identity")),
        realname=realname_verifier(settings.realname_provider, settings.env,
                                   settings.sandbox_realname_reject),
        today=today_in_china)
    yield


SPEC = ServiceSpec(name="agents", migrations=MIGRATIONS, setup_routes=setup_routes,
                   projections=(AgentListProjection(),), contexts=(agents_context,))


def create_app(settings: AgentsSettings | None = None) -> web.Application:
    return build_app(SPEC, settings or AgentsSettings())


def run() -> None:
    main(SPEC, AgentsSettings, lambda s: create_app(s))  # type: ignore[arg-type]
