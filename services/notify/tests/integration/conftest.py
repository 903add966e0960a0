"""Fixtures of notify's integration tests (the harness lives in ``notify_harness``)."""

from notify_harness import notify

__all__ = ["notify"]
