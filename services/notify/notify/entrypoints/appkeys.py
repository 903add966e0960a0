"""The application keys of notify's handlers."""

from __future__ import annotations

from aiohttp import web

from ..service_layer.context import Notify

NOTIFY = web.AppKey("notify", Notify)
