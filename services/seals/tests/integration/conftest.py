"""Fixtures of the seals integration tests (see tests/support/harnesses/seals.py)."""

from tests.support.harnesses.seals import seals  # noqa: F401 - the session fixture

