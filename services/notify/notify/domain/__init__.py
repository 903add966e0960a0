"""notify's domain: message kinds, recipient rules and the words of each message (pure)."""

from .model import KINDS, AgentEntry, Draft, GrantEntry, Kind, Names

__all__ = ["KINDS", "AgentEntry", "Draft", "GrantEntry", "Kind", "Names"]
