"""What identity's route modules take from a request: the service layer (its app key) and
the JSON body as a command."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from shared.http import read_json
from shared.people.fields import parse_model

from ..service_layer.context import Identity

IDENTITY = web.AppKey("identity", Identity)
M = TypeVar("M", bound=BaseModel)


async def body(request: web.Request, model: type[M]) -> M:
    """The JSON body validated against ``model`` (415 not JSON, 400 bad JSON, 422 invalid)."""
    return parse_model(model, await read_json(request))
