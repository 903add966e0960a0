"""Who a principal is, as identity knows it: the HTTP adapter of the ``PrincipalDirectory``
port (``service_layer/ports.py``).

Certs asks identity (``GET /internal/principals/{id}``) for the data a certificate
subject and the activation SMS need. The full ID number and phone travel only on this
internal call and are never logged.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from certs.domain.errors import PrincipalNotFound
from certs.service_layer.ports import PrincipalRecord
from shared.internal import RemoteError
from shared.service import client


class IdentityDirectory:
    """The adapter calling identity with internal authentication."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def get(self, principal_id: uuid.UUID) -> PrincipalRecord:
        try:
            body = await client(self._app, "identity").get(f"/internal/principals/{principal_id}")
        except RemoteError as err:
            if err.status == 404:
                raise PrincipalNotFound() from None
            raise
        record = PrincipalRecord.model_validate(body)
        if record.removed:
            raise PrincipalNotFound()
        return record

