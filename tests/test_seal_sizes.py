"""Stamping's copy of the seal sizes (domain/resolve.py) is seals' catalogue."""

from seals.adapters.rendering.seal_types import SEAL_TYPES
from stamping.domain.resolve import SEAL_SIZES_MM


def test_stampings_seal_sizes_are_the_catalogues() -> None:
    assert dict(SEAL_SIZES_MM) == {t.code: (t.width_mm, t.height_mm) for t in SEAL_TYPES.values()}
