"""The connection type handlers receive: the platform's one alias, ``shared.db.Conn``.

(Kept as a name certs' modules import until they import ``shared.db`` directly.)
"""

from __future__ import annotations

from shared.db import Conn

__all__ = ["Conn"]
