"""Fixtures of notify's integration tests (the harness lives in ``tests.support.harnesses.notify``)."""

from tests.support.harnesses.notify import notify

__all__ = ["notify"]
