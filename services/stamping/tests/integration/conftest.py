"""Fixtures of stamping's integration tests (the harness lives in ``tests.support.harnesses.stamping``)."""

from tests.support.harnesses.stamping import stamping

__all__ = ["stamping"]
