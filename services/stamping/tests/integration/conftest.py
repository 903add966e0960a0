"""Fixtures of stamping's integration tests (the harness lives in ``stamping_harness``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # stamping_fakes

from stamping_harness import stamping  # noqa: E402

__all__ = ["stamping"]
