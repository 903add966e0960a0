"""The directory: enterprises, persons and agents as their owners' events describe them.

One projection for every service that keeps it (``shared.agent_directory``, notify keeps
the same): fed by the consumer (one transaction with the idempotency row per event);
agents' events may arrive out of order, and the newest stream version's values win, an
older event only fills in what is unknown, a removal is never undone.
"""

from __future__ import annotations

from shared.agent_directory import directory_handlers

__all__ = ["directory_handlers"]
