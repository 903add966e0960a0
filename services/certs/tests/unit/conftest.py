from __future__ import annotations

from datetime import datetime

import pytest
from certs.adapters.crypto.keywrap import MasterKey
from certs_pki import NOW, Pki, make_pki


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki(NOW)


@pytest.fixture()
def master() -> MasterKey:
    return MasterKey.generate()
