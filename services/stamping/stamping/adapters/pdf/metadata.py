"""The stamp details bound into a stamped PDF.

Binding choice: the details are written as compact JSON into a custom entry
``/EsealStamp`` of the PAdES signature dictionary itself. Every entry of that
dictionary except ``/Contents`` lies inside the ``/ByteRange`` the seal signs, so
changing one byte of it breaks the signature; moving it to a later revision is
caught by pyHanko's coverage/diff analysis. Standard validators ignore unknown
keys, so the document stays a plain PAdES signature. The same facts are also
written, human-readable, into ``/Name`` and ``/Reason`` for viewers such as Adobe.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime

SIG_DICT_KEY = "/EsealStamp"
FORMAT_VERSION = 1

# Resident identity card numbers must never be written into documents (they are
# masked everywhere else); the person is identified by the platform's own id.
_ID_CARD = re.compile(r"^\d{17}[\dXx]$")


@dataclass(frozen=True)
class StampMetadata:
    seal_id: str
    seal_name: str
    seal_type: str
    enterprise_name: str
    enterprise_uscc: str
    signer_person_name: str
    signer_person_id: str  # platform person id, never an ID card number
    stamped_at: datetime
    request_id: str
    # The authorised person's own signature over the stamp request, produced by
    # their key elsewhere; carried here so the document shows who asked.
    person_signature_b64: str
    # Optional (added later; older documents lack them). ``authorization`` is the exact
    # text the person signed (canonical JSON: request id, document hash, seal, enterprise,
    # person id, time), so the person's signature can be checked from the document alone
    # with their certificate, found by ``person_certificate_serial``. The certificate itself
    # is not embedded: a person's certificate carries their ID number.
    authorization: str = ""
    person_signature_algorithm: str = ""
    person_certificate_serial: str = ""
    enterprise_id: str = ""
    seal_type_code: str = ""

    def __post_init__(self) -> None:
        if _ID_CARD.match(self.signer_person_id):
            raise ValueError("signer_person_id looks like an ID card number")
        if self.stamped_at.tzinfo is None:
            raise ValueError("stamped_at must be timezone-aware")

    def to_json(self) -> str:
        body = asdict(self)
        body["stamped_at"] = self.stamped_at.isoformat()
        body["v"] = FORMAT_VERSION
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StampMetadata:
        body = json.loads(text)
        if body.pop("v", None) != FORMAT_VERSION:
            raise ValueError("unknown /EsealStamp format version")
        body["stamped_at"] = datetime.fromisoformat(body["stamped_at"])
        return cls(**body)

    def display_name(self) -> str:
        """What viewers show as the signer (/Name)."""
        return f"{self.enterprise_name}（{self.seal_name}）"

    def default_reason(self) -> str:
        return f"加盖{self.seal_type}「{self.seal_name}」，用印人：{self.signer_person_name}"
