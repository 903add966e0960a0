"""Wiring of the certs service: settings, spec, process entry point."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from aiohttp import web

from shared import ServiceSettings, ServiceSpec, build_app, main

from .entrypoints.http import setup_routes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class CertsSettings(ServiceSettings):
    service_name: ClassVar[str] = "certs"


SPEC = ServiceSpec(name="certs", migrations=MIGRATIONS, setup_routes=setup_routes)


def create_app(settings: CertsSettings | None = None) -> web.Application:
    return build_app(SPEC, settings or CertsSettings())


def run() -> None:
    main(SPEC, CertsSettings, lambda s: create_app(s))  # type: ignore[arg-type]
