from __future__ import annotations

from pathlib import Path

import pytest
from support.markup import markup_lake as build_markup_lake


@pytest.fixture(scope="session")
def markup_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small published lake whose sensors are named in Rich markup and emoji codes (readers copy it first)."""
    return build_markup_lake(tmp_path_factory.mktemp("markup"))
