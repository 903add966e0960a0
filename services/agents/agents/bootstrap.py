"""Wiring of the agents service: spec, process entry point (settings in ``config.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from shared import ServiceSpec, build_app, main
from shared.china_time import today_in_china
from shared.http import add_provider
from shared.service import DB, HTTP, SETTINGS, STORE, client
from shared.unit_of_work import Database

from .adapters.identity import HttpIdentity
from .adapters.realname import UnavailableRealName, realname_verifier, tencent_realname
from .adapters.repository import PgAgentStorage
from .config import AgentsSettings
from .entrypoints.http import AGENTS, setup_routes
from .projections.agent_list import AgentListProjection
from .service_layer.context import Agents

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


async def agents_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert isinstance(settings, AgentsSettings)
    realname = realname_verifier(settings.realname_provider, settings.env,
                                 settings.sandbox_realname_reject,
                                 tencent=lambda: tencent_realname(app[HTTP], settings))
    describe = getattr(realname, "describe", None)
    add_provider(app, "realname", describe() if describe else
                 {"provider": "none" if isinstance(realname, UnavailableRealName) else "sandbox"})
    app[AGENTS] = Agents(
        storage=PgAgentStorage(Database(app[DB], app[STORE], (AgentListProjection(),))),
        identity=HttpIdentity(client(app, "identity")),
        realname=realname,
        today=today_in_china)
    yield


SPEC = ServiceSpec(name="agents", migrations=MIGRATIONS, setup_routes=setup_routes,
                   projections=(AgentListProjection(),), contexts=(agents_context,))


def create_app(settings: AgentsSettings | None = None) -> web.Application:
    return build_app(SPEC, settings or AgentsSettings())


def run() -> None:
    main(SPEC, AgentsSettings, lambda s: create_app(s))  # type: ignore[arg-type]
