"""Where the ofdrw interoperability vectors live inside the repository."""

from __future__ import annotations

from pathlib import Path

OFDRW = Path(__file__).resolve().parents[3] / "services" / "stamping" / "tests" / "vectors" / "ofdrw"
OFDRW_PASSWORD = "777777"  # USER.p12 and SealBuilder.p12 (ofdrw's own test keys)
OFDRW_ROOT_PASSWORD = "123456"  # ROOT.p12


def read(name: str) -> bytes:
    return (OFDRW / name).read_bytes()
