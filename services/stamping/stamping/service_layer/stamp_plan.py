"""What one stamp call works with: the command, the request's seal placements each with the
seal the person chose (``plan``: 422 ``invalid_choice`` before any password try), the spots
of the person's own signature, the claim on the request and the phase timings. Shared by the
single stamp (``stamping``), batches and 用印审批."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..adapters.repository import RequestRow
from ..domain.errors import InvalidChoice
from ..domain.placements import Choice, Placement, Spot, chosen_seals
from .ports import EnterpriseChoice, SealInfo


@dataclass(frozen=True)
class StampCommand:
    # None only for a request with only personal signature placements (no seal is used)
    enterprise_id: uuid.UUID | None
    seal_id: uuid.UUID | None
    certificate_password: str
    # The person's seal for each placement that takes one (issue 15); a placement not named
    # here gets ``seal_id``.
    choices: tuple[Choice, ...] = ()


@dataclass
class Timings:
    """Phases of one stamp in ms (sent as ``Server-Timing``; the benchmark reads it)."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{k};dur={v:.1f}" for k, v in self.phases.items())


@dataclass(frozen=True)
class Claim:
    claim_id: uuid.UUID
    row: RequestRow
    document: bytes | None
    client_id: uuid.UUID


@dataclass(frozen=True)
class Use:
    """One seal placement of the request and the seal the person chose for it (a digest
    request: one, without a placement)."""

    index: int
    placement: Placement | None
    seal_id: uuid.UUID


@dataclass(frozen=True)
class SealLookup:
    """What seals answered for a pre-check: the person's choices and each seal's details (None:
    seals knows no such seal). A batch asks once for all its documents (``batches.stamp``);
    only the pre-check reads it: the re-check after the timestamp and the seal signature
    always ask seals again."""

    choices: Sequence[EnterpriseChoice]
    seals: Mapping[uuid.UUID, SealInfo | None]


@dataclass(frozen=True)
class OwnSignature:
    """The person's signature picture and certificate, for the request's signature placements."""

    image: bytes
    certificate_pem: str


def enterprise_of(cmd: StampCommand) -> uuid.UUID:
    if cmd.enterprise_id is None:
        raise InvalidChoice.field("enterprise_id", "required: the request has seal placements")
    return cmd.enterprise_id


def plan(row: RequestRow, cmd: StampCommand) -> list[Use]:
    """The request's seal placements in index order, each with its seal (422 when the choices
    do not fit), before any password try."""
    if row.kind == "digest" or not row.placements:
        if cmd.choices:
            raise InvalidChoice.field("choices", "a digest request has no placements")
        if cmd.seal_id is None:
            raise InvalidChoice.field("seal_id", "required: the request takes a seal")
        enterprise_of(cmd)
        return [Use(0, None, cmd.seal_id)]
    try:
        picked = chosen_seals(row.placements, cmd.choices, cmd.seal_id)
    except ValueError as e:
        raise InvalidChoice.field("choices", str(e)) from None
    uses = [Use(p.index, p, picked[p.index]) for p in sorted(row.placements, key=lambda p: p.index)
            if p.takes_seal]
    if uses:
        enterprise_of(cmd)
    return uses


def signature_spots(row: RequestRow) -> list[Spot]:
    """Every spot of the request's ``signature`` placements (the person's own signature), in
    placement order: one signature by the person's certificate draws it at all of them (PAdES
    on a PDF; GB/T 38540 with the person's own ``SES_Seal`` on an OFD). A request may have
    only signature placements: then no seal is used at all."""
    own = [p for p in sorted(row.placements, key=lambda p: p.index) if p.kind == "signature"]
    if not own or row.kind == "digest":
        return []
    return [s for p in own for s in p.spots]


def own_indexes(row: RequestRow) -> list[int]:
    return sorted(p.index for p in row.placements if p.kind == "signature")
