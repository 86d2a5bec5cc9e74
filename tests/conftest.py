from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "data" / "real"


@pytest.fixture
def real() -> Path:
    """The real samples beside the project; tests that need them skip cleanly without them."""
    if not REAL.is_dir():
        pytest.skip(f"real samples not found at {REAL} (../shared is absent)")
    return REAL


PipelineFactory = Callable[..., Path]


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineFactory:
    """Write a pipeline directory from a YAML text and {table: sql} mapping."""

    def make(yml: str, sql: dict[str, str] | None = None, data: dict[str, str] | None = None,
             name: str = "pipe") -> Path:
        root = tmp_path / name
        (root / "sql").mkdir(parents=True, exist_ok=True)
        (root / "pipeline.yml").write_text(textwrap.dedent(yml))
        for table, text in (sql or {}).items():
            (root / "sql" / f"{table}.sql").write_text(textwrap.dedent(text))
        for rel, text in (data or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(textwrap.dedent(text))
        return root

    return make
