"""Fixtures of certs' integration tests (the harness lives in ``tests/support/harnesses/certs.py``)."""

from tests.support.harnesses.certs import certs

__all__ = ["certs"]
