"""Fakes of the agents service's ports (``agents.service_layer.ports``).

``FakeAgentStorage`` keeps streams, identity elements and the list in memory; a
transaction works on a copy that replaces the state only when its block ends without an
exception, like a database transaction. ``FakeIdentity`` is identity's agent logins and
face tokens as ``HttpIdentity`` sees them: refusals are ``RemoteError`` with identity's
status and code. ``FakeRealName`` answers like the sandbox provider.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agents.domain import agent as rules
from agents.domain.agent import Agent
from agents.domain.errors import AgentExists
from agents.service_layer.ports import IdentityElements, ListRow, RealNameResult

from shared.catalog import AgentAdded, AgentRemoved, AgentUpdated
from shared.errors import ConcurrencyError
from shared.events import DomainEvent
from shared.internal import RemoteError


@dataclass
class _Elements:
    enterprise_id: uuid.UUID
    id_number: str
    phone: str
    removed: bool = False


@dataclass
class AgentState:
    streams: dict[uuid.UUID, list[DomainEvent]] = field(default_factory=dict)
    elements: dict[uuid.UUID, _Elements] = field(default_factory=dict)
    rows: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # + enterprise_id, removed_at
    last_time: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Strictly increasing, as events' occurred_at in one database in practice are."""
        self.last_time = max(datetime.now(UTC), self.last_time + timedelta(microseconds=1))
        return self.last_time


_PUBLIC = ("agent_id", "name", "id_type", "id_number_masked", "phone_masked", "id_valid_from",
           "id_valid_to", "id_long_term", "valid_from", "valid_to", "can_manage", "added_at")


class FakeAgentRepository:
    def __init__(self, state: AgentState) -> None:
        self.state = state

    async def get(self, agent_id: uuid.UUID) -> Agent | None:
        return rules.fold(self.state.streams.get(agent_id, []))

    async def append(self, agent_id: uuid.UUID, expected_version: int,
                     events: Sequence[DomainEvent]) -> None:
        stream = self.state.streams.setdefault(agent_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(f"stream {agent_id} is at {len(stream)}, not {expected_version}")
        stream.extend(events)
        for ev in events:
            self._project(ev)

    def _project(self, ev: DomainEvent) -> None:
        if isinstance(ev, AgentAdded):
            self.state.rows.setdefault(ev.agent_id, {
                **{k: getattr(ev, k) for k in _PUBLIC if k != "added_at"},
                "added_at": self.state.now(), "enterprise_id": ev.enterprise_id, "removed_at": None})
        elif isinstance(ev, AgentUpdated):
            self.state.rows[ev.agent_id].update(valid_from=ev.valid_from, valid_to=ev.valid_to,
                                                can_manage=ev.can_manage)
        elif isinstance(ev, AgentRemoved):
            self.state.rows[ev.agent_id]["removed_at"] = self.state.now()

    def _current(self, enterprise_id: uuid.UUID) -> list[_Elements]:
        return [e for e in self.state.elements.values() if e.enterprise_id == enterprise_id and not e.removed]

    async def taken_field(self, enterprise_id: uuid.UUID, id_number: str, phone: str) -> str | None:
        for e in self._current(enterprise_id):
            if e.id_number == id_number:
                return "id_number"
            if e.phone == phone:
                return "phone"
        return None

    async def insert_elements(self, agent_id: uuid.UUID, enterprise_id: uuid.UUID,
                              id_number: str, phone: str) -> None:
        current = self._current(enterprise_id)
        if agent_id in self.state.elements or any(e.id_number == id_number for e in current):
            raise AgentExists("id_number")
        if any(e.phone == phone for e in current):
            raise AgentExists("phone")
        self.state.elements[agent_id] = _Elements(enterprise_id, id_number, phone)

    async def release_elements(self, agent_id: uuid.UUID) -> None:
        if agent_id in self.state.elements:
            self.state.elements[agent_id].removed = True

    async def list_row(self, agent_id: uuid.UUID) -> ListRow | None:
        row = self.state.rows.get(agent_id)
        return {k: row[k] for k in _PUBLIC} if row and row["removed_at"] is None else None

    async def list_page(self, enterprise_id: uuid.UUID, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> list[ListRow]:
        rows = sorted((r for r in self.state.rows.values()
                       if r["enterprise_id"] == enterprise_id and r["removed_at"] is None
                       and (after is None or (r["added_at"], r["agent_id"]) < after)),
                      key=lambda r: (r["added_at"], r["agent_id"]), reverse=True)
        return [{k: r[k] for k in _PUBLIC} for r in rows[:limit]]


class FakeAgentStorage:
    def __init__(self) -> None:
        self.state = AgentState()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeAgentRepository]:
        work = copy.deepcopy(self.state)
        yield FakeAgentRepository(work)
        self.state = work  # only when the block ended without an exception

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[FakeAgentRepository]:
        yield FakeAgentRepository(self.state)


def remote(status: int, code: str) -> RemoteError:
    err = RemoteError(code, code=code)
    err.status = status
    return err


@dataclass
class Login:
    enterprise_id: uuid.UUID
    phone: str
    password: str
    valid_from: date
    valid_to: date
    can_manage: bool
    removed: bool = False


class FakeIdentity:
    """identity's internal agent-login and face-token endpoints, in memory.

    ``enterprises`` are the enterprise accounts identity knows; ``face_tokens`` the passed
    face checks (token -> (subject, purpose)) not yet used. ``calls`` records every call;
``fail[method]`` makes the next call of ``method`` raise instead (a refusal, a timeout).
    """

    def __init__(self) -> None:
        self.enterprises: set[uuid.UUID] = set()
        self.logins: dict[uuid.UUID, Login] = {}
        self.face_tokens: dict[str, tuple[uuid.UUID, str]] = {}
        self.used_tokens: set[str] = set()
        self.calls: list[tuple[str, uuid.UUID | str]] = []
        self.fail: dict[str, Exception] = {}  # method name -> what its next call raises

    def _call(self, method: str, about: uuid.UUID | str) -> None:
        self.calls.append((method, about))
        if method in self.fail:
            raise self.fail.pop(method)

    async def consume_face_token(self, face_token: str, subject_id: uuid.UUID, purpose: str) -> None:
        self._call("consume_face_token", face_token)
        if face_token in self.used_tokens:
            raise remote(409, "face_token_used")
        if face_token not in self.face_tokens:
            raise remote(422, "face_token_invalid")
        if self.face_tokens[face_token] != (subject_id, purpose):
            raise remote(403, "face_token_mismatch")
        del self.face_tokens[face_token]
        self.used_tokens.add(face_token)

    async def create_login(self, agent_id: uuid.UUID, login: dict[str, Any]) -> None:
        self._call("create_login", agent_id)
        enterprise_id = uuid.UUID(login["enterprise_id"])
        if enterprise_id not in self.enterprises:
            raise remote(422, "enterprise_not_found")
        existing = self.logins.get(agent_id)
        if existing is not None:
            if existing.enterprise_id == enterprise_id and existing.phone == login["phone"] \
                    and not existing.removed:
                return  # a retry
            raise remote(409, "agent_exists")
        if any(x.enterprise_id == enterprise_id and x.phone == login["phone"] and not x.removed
               for x in self.logins.values()):
            raise remote(409, "agent_exists")
        self.logins[agent_id] = Login(enterprise_id, login["phone"], login["password"],
                                      date.fromisoformat(login["valid_from"]),
                                      date.fromisoformat(login["valid_to"]), login["can_manage"])

    def _live(self, agent_id: uuid.UUID) -> Login:
        login = self.logins.get(agent_id)
        if login is None or login.removed:
            raise remote(404, "agent_not_found")
        return login

    async def update_login(self, agent_id: uuid.UUID, valid_from: date, valid_to: date,
                           can_manage: bool) -> None:
        self._call("update_login", agent_id)
        login = self._live(agent_id)
        login.valid_from, login.valid_to, login.can_manage = valid_from, valid_to, can_manage

    async def set_password(self, agent_id: uuid.UUID, password: str) -> None:
        self._call("set_password", agent_id)
        self._live(agent_id).password = password

    async def remove_login(self, agent_id: uuid.UUID) -> None:
        self._call("remove_login", agent_id)
        if agent_id in self.logins:
            self.logins[agent_id].removed = True


class FakeRealName:
    """Verifies everyone but the names in ``unknown`` (field name), numbers in ``mismatched``,
    numbers whose validity dates are in ``wrong_validity`` and phones in ``foreign_phones``."""

    def __init__(self) -> None:
        self.unknown: set[str] = set()
        self.mismatched: set[str] = set()
        self.wrong_validity: set[str] = set()
        self.foreign_phones: set[str] = set()
        self.checked: list[IdentityElements] = []

    async def verify(self, name: str, id_type: str, id_number: str) -> RealNameResult:
        if name in self.unknown:
            return RealNameResult(False, "name", "no such person")
        if id_number in self.mismatched:
            return RealNameResult(False, "id_number", "name and ID number do not match")
        return RealNameResult(True)

    async def verify_four(self, elements: IdentityElements) -> RealNameResult:
        self.checked.append(elements)
        verdict = await self.verify(elements.name, elements.id_type, elements.id_number)
        if verdict.verified and elements.id_number in self.wrong_validity:
            return RealNameResult(False, "id_valid_from", "validity dates do not match")
        if verdict.verified and elements.phone in self.foreign_phones:
            return RealNameResult(False, "phone", "the phone is not this person's")
        return verdict
