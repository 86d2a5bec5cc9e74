from __future__ import annotations

from pathlib import Path

import pytest

from footfall.errors import SpecError
from footfall.spec import Check, load_spec


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yml"
    path.write_text(text)
    return path


def test_valid_spec_loads_sources_steps_outputs_and_checks(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
name: demo
sources:
  raw: {path: landing/*.csv, format: csv, options: {delim: ";"}}
steps:
  daily: {materialize: view, checks: [{not_null: [day]}, {unique: day}]}
outputs:
  - {table: daily, zone: curated, format: csv}
checks:
  raw: [{row_count: {min: 1}}]
"""))
    assert spec.sources["raw"].options == {"delim": ";"}
    assert spec.steps["daily"].checks[1].unique == ["day"]
    assert spec.outputs[0].relpath == "daily.csv"
    assert spec.checks["raw"][0].kind == "row_count"


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("name: x\nsources:\n  s:\n    path: a.csv\n    format: xls\n", 5, "sources.s.format"),
    ("name: x\nsteps:\n  a:\n    materialise: view\n", 4, "Extra inputs are not permitted"),
    ("name: x\noutputs:\n  - table: a\n    zone: attic\n", 4, "outputs.0.zone"),
    ("name: x\nsources: [\n", 3, "invalid YAML"),
    ("name: bad-name\n", 1, "not a plain identifier"),
    ("name: x\nsources:\n  s: {path: ../../etc/passwd, format: csv}\n", 3, "must stay inside its root"),
    ("name: x\nsources:\n  s: {path: /etc/passwd, format: csv}\n", 3, "must stay inside its root"),
    ("name: x\nsteps:\n  a:\n    checks:\n      - {not_null: [a], unique: [a]}\n", 5, "exactly one of"),
    ("name: x\nsources:\n  s: {path: a.csv, format: csv, columns: {a: NOT A TYPE}}\n", 3, "not a SQL type"),
    ("name: x\nsources:\n  s: {path: a.csv, format: csv, required: false}\n", 3, "needs `columns`"),
])
def test_invalid_spec_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_yaml_tags_never_construct_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(path)


def test_missing_spec_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "pipeline.yml")


def test_csv_output_cannot_be_partitioned(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="partition_by needs format parquet"):
        load_spec(write(tmp_path, "name: x\noutputs:\n  - {table: a, zone: curated, format: csv, partition_by: [m]}\n"))


def test_check_shorthand_accepts_a_single_column() -> None:
    assert Check(not_null="a").not_null == ["a"]
