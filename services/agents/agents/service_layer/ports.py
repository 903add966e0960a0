"""The ports of the agents service layer: what it needs from the world, as Protocols.

Adapters: ``adapters.repository`` (PostgreSQL, through ``shared.unit_of_work``),
``adapters.identity`` (identity's internal HTTP API), ``adapters.realname`` (the real-name
provider). In-memory fakes for the service-layer tests: ``tests/support/fakes/agents.py``;
``services/agents/tests/unit/test_agents_contract.py`` holds both to the same checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from shared.events import DomainEvent

from ..domain.agent import Agent

# A row of the agent list (``adapters.repository._LIST_COLUMNS``), read by ``handlers.view``.
ListRow = Mapping[str, Any]


class AgentRepository(Protocol):
    """Agents' streams, the identity-element table and the agent list, in one unit of work."""

    async def get(self, agent_id: uuid.UUID) -> Agent | None:
        """The agent folded from its stream (None: never added)."""

    async def append(self, agent_id: uuid.UUID, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        """Append to the agent's stream and update the list (``ConcurrencyError`` when stale)."""

    async def taken_field(self, enterprise_id: uuid.UUID, id_number: str, phone: str) -> str | None:
        """Which element another current agent of the enterprise already has, if any."""

    async def insert_elements(self, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                              id_number: str, phone: str) -> None:
        """Claim the agent's ID number and phone in its enterprise (``AgentExists`` if taken)."""

    async def release_elements(self, agent_id: uuid.UUID) -> None:
        """A removed agent's ID number and phone may be used for a new agent."""

    async def list_row(self, agent_id: uuid.UUID) -> ListRow | None:
        """The agent's row of the list, unless removed."""

    async def list_page(self, enterprise_id: uuid.UUID, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> list[ListRow]:
        """Newest first; ``after`` is the (added_at, agent_id) of the last row already shown."""


class AgentStorage(Protocol):
    """Where repositories come from: in a transaction (commands) or not (queries)."""

    def transaction(self) -> AbstractAsyncContextManager[AgentRepository]:
        """Everything done through the repository commits together, or nothing does."""

    def connection(self) -> AbstractAsyncContextManager[AgentRepository]:
        """Reads (and single statements), no transaction."""


class IdentityGateway(Protocol):
    """identity's face tokens and agent logins; its problems come back as they were."""

    async def consume_face_token(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None: ...

    async def create_login(self, agent_id: uuid.UUID, login: dict[str, Any]) -> None: ...

    async def update_login(self, agent_id: uuid.UUID, valid_from: date, valid_to: date,
                           can_manage: bool) -> None: ...

    async def set_password(self, agent_id: uuid.UUID, password: str) -> None: ...

    async def remove_login(self, agent_id: uuid.UUID) -> None: ...


@dataclass(frozen=True)
class RealNameResult:
    verified: bool
    field: str = ""
    reason: str = ""


@dataclass(frozen=True)
class IdentityElements:
    """The four elements (四要素) of an agent checked together when the agent is added."""

    name: str
    id_type: str
    id_number: str
    id_valid_from: date
    id_valid_to: date | None  # None: long-term (长期)
    phone: str


class RealNameVerifier(Protocol):
    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        """Whether the provider confirms that ``name`` holds ``id_number``."""

    async def verify_four(self, elements: IdentityElements) -> RealNameResult:
        """Name, ID number, the ID's validity dates and the phone, together; a refusal names
        the kind of element that failed (``name``, ``id_number``, ``id_valid_from``,
        ``phone``), never the values on record."""
