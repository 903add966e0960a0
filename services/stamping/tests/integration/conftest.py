"""Fixtures of stamping's integration tests (the harness lives in ``tests.support.harnesses.stamping``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # stamping_fakes

from tests.support.harnesses.stamping import stamping  # noqa: E402

__all__ = ["stamping"]
