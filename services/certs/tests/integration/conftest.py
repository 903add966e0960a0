"""Fixtures of certs' integration tests (the harness lives in ``certs_harness``)."""

from certs_harness import certs

__all__ = ["certs"]
