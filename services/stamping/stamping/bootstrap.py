"""Wiring of the stamping service: settings, spec, process entry point."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from aiohttp import web

from shared import ServiceSettings, ServiceSpec, build_app, main

from .entrypoints.http import setup_routes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StampingSettings(ServiceSettings):
    service_name: ClassVar[str] = "stamping"


SPEC = ServiceSpec(name="stamping", migrations=MIGRATIONS, setup_routes=setup_routes)


def create_app(settings: StampingSettings | None = None) -> web.Application:
    return build_app(SPEC, settings or StampingSettings())


def run() -> None:
    main(SPEC, StampingSettings, lambda s: create_app(s))  # type: ignore[arg-type]
