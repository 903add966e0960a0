"""Fixtures of the seals integration tests (see seals_harness)."""

from seals_harness import seals  # noqa: F401 - the session fixture

