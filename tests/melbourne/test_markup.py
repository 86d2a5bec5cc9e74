"""User text is printed literally: lake paths and table values in Rich markup or emoji codes are shown as
written, never interpreted."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import own_words_error
from support.cli import wide as footfall
from support.markup import MARKUP_PROBES

# --- Class 11 (markup): user text printed literally --------------------------------------------------------



@pytest.mark.parametrize("name", MARKUP_PROBES)
def test_a_lake_path_with_markup_is_printed_literally(tmp_path: Path, name: str) -> None:
    line = own_words_error(footfall("top", "--lake", str(tmp_path / name)))
    assert f"{tmp_path / name}: no top10_by_day in this lake yet" in line


@pytest.mark.parametrize("name", MARKUP_PROBES)
def test_a_run_on_a_lake_named_with_markup_prints_it_literally(tmp_path: Path, name: str) -> None:
    done = footfall("run", "--lake", name, "--counts", f"missing-{name}.csv", cwd=tmp_path)
    line = own_words_error(done)
    assert done.stderr.splitlines()[0] == f"melbourne -> {name}"
    assert name in line


def test_table_values_with_markup_are_printed_literally(markup_lake: Path) -> None:
    done = footfall("top", "--by", "month", "--lake", str(markup_lake))
    assert done.returncode == 0, done.stderr
    for name in MARKUP_PROBES:
        assert name in done.stdout
    assert "😄" not in done.stdout and "👍" not in done.stdout
