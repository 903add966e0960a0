"""Fail closed: a process that would run production with development settings does not start.

``ESEAL_ENV`` unset means production (``shared.settings``). Before it migrates or listens, each
service (and the gateway) asks its settings for ``production_problems()`` and, in production,
refuses any: exit code 2 and one line on stderr naming the setting. The secrets themselves
are never printed. Development, test and the local demo set ``ESEAL_ENV`` explicitly.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from aiohttp import web
from pydantic import ValidationError

from .settings import ServiceSettings

EXIT_REFUSED = 2


def refuse(service: str, reason: str) -> NoReturn:
    print(f"eseal {service}: refusing to start: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_REFUSED)


def load_settings(settings_cls: type[ServiceSettings]) -> ServiceSettings:
    """The settings from the environment; an invalid value is a refusal, not a traceback."""
    try:
        return settings_cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ESEAL_" + "_".join(str(p) for p in first["loc"]).upper()
        refuse(settings_cls.service_name, f"{name}: {first['msg']}")


def check_settings(settings: ServiceSettings) -> None:
    """In production, refuse the first unsafe setting (exit 2); elsewhere do nothing."""
    if not settings.is_production:
        return
    problems = settings.production_problems()
    if problems:
        refuse(settings.service_name, f"{problems[0]} (ESEAL_ENV=production)")


def sandbox_routes(app: web.Application) -> list[str]:
    """Sandbox endpoints (face-check verdicts, SMS inbox, clock): never in production."""
    return [r.canonical for r in app.router.resources() if "sandbox" in r.canonical.split("/")]


def check_app(settings: ServiceSettings, app: web.Application) -> None:
    """In production, refuse an application that would serve sandbox endpoints."""
    if settings.is_production and (found := sandbox_routes(app)):
        refuse(settings.service_name, f"sandbox endpoint {found[0]} enabled (ESEAL_ENV=production)")
