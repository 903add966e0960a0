"""Which sessions identity has ended: the gateway uses the list every service keeps
(``shared.revocations``), checked before forwarding; services check it again themselves."""

from __future__ import annotations

from shared.revocations import RevocationFeed, RevocationList, identity_client

__all__ = ["RevocationFeed", "RevocationList", "identity_client"]
