"""What the agents command and query handlers need, wired once in bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .ports import AgentStorage, IdentityGateway, RealNameVerifier


@dataclass
class Agents:
    storage: AgentStorage  # one unit of work per command (adapters.repository.PgAgentStorage)
    identity: IdentityGateway
    realname: RealNameVerifier
    today: Callable[[], date]  # the calendar date in China
