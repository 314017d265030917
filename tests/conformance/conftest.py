"""`opener`: every physical store under contract (see `stores.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance.stores import KINDS, Opener, physical_opener


@pytest.fixture(params=KINDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from physical_opener(request.param, request, tmp_path)
