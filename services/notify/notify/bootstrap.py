"""Wiring of the notify service: settings, spec, process entry point."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from aiohttp import web

from shared import ServiceSettings, ServiceSpec, build_app, main

from .entrypoints.http import setup_routes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"


SPEC = ServiceSpec(name="notify", migrations=MIGRATIONS, setup_routes=setup_routes)


def create_app(settings: NotifySettings | None = None) -> web.Application:
    return build_app(SPEC, settings or NotifySettings())


def run() -> None:
    main(SPEC, NotifySettings, lambda s: create_app(s))  # type: ignore[arg-type]
