"""Every test runs with ESEAL_ENV=test: unset, a service would be production (fail closed) and
refuse its development defaults. Tests of production behaviour set ``env`` explicitly."""

import os

os.environ["ESEAL_ENV"] = "test"

# Fixtures every test directory may use: ``session``, one aiohttp client session per test.
pytest_plugins = ["tests.support.http_session"]
