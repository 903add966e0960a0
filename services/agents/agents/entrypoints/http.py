"""HTTP routes of the agents service (thin: parse, authorize, call the service layer)."""

from __future__ import annotations

from aiohttp import web


def setup_routes(app: web.Application) -> None:
    """Routes are added as the service grows."""
