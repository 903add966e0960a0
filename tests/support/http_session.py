"""``session``: one aiohttp client session per test, a fixture of every test directory (the
repository's conftest.py loads this module as a plugin). The adapters under test (provider
clients, upstream pools) take the session they are given, as in the services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s
