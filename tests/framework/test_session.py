"""One way to open a lake and one session per run: a `footfall run` locks its lake once, local or on S3,
and everything below works on the held lake; the command line leaves local-or-S3 to the session."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.cli import in_process

from footfall.lake import Lake

SRC = Path(__file__).resolve().parents[2] / "src" / "footfall"
GLUE = Path(__file__).resolve().parents[2] / "glue"


@pytest.fixture
def locks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The roots of every lock the process takes from here on, in order."""
    taken: list[Path] = []
    lock = Lake.lock

    @contextlib.contextmanager
    def counted(self: Lake) -> Iterator[None]:
        taken.append(self.root)
        with lock(self):
            yield

    monkeypatch.setattr(Lake, "lock", counted)
    return taken


def test_a_local_run_locks_its_lake_once(files: dict[str, Path], tmp_path: Path, locks: list[Path],
                                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lake = tmp_path / "lake"
    code, _, err = in_process(capsys, monkeypatch, "run", "--counts", str(files["archive"]), "--lake", str(lake))
    assert code == 0, err
    assert locks == [lake.resolve()]
    assert (lake / "curated" / "top10_by_day.csv").is_file()


@pytest.mark.slow
def test_a_run_on_s3_locks_its_working_copy_once(files: dict[str, Path], s3: SimpleNamespace, tmp_path: Path,
                                                 locks: list[Path], capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = in_process(capsys, monkeypatch, "run", "--counts", str(files["archive"]), "--lake", s3.uri)
    assert code == 0, err
    assert len(locks) == 1 and locks[0].is_relative_to(tmp_path / "cache"), locks
    assert "pushed" in err


def test_a_pipeline_run_locks_its_lake_once(make_pipeline, tmp_path: Path, locks: list[Path],
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_pipeline("""
        name: one
        outputs:
          - {table: answer, zone: curated, path: answer.csv, format: csv}
        """, {"answer": "SELECT 42 AS answer"})
    code, _, err = in_process(capsys, monkeypatch, "pipeline", "run", str(pipe), "--lake", str(tmp_path / "lake"))
    assert code == 0, err
    assert locks == [(tmp_path / "lake").resolve()]


def test_a_second_hold_inside_a_session_is_refused(tmp_path: Path) -> None:
    """Nothing below a session may lock again: the lock is not re-entrant, so a hidden second hold fails."""
    from footfall.errors import LakeError

    lake = Lake.at(tmp_path)
    with lake.session(), pytest.raises(LakeError, match="in use by footfall pid"), lake.lock():
        pass


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
            and (getattr(n.func, "id", None) == name or getattr(n.func, "attr", None) == name)]


def test_only_the_session_tells_local_from_s3() -> None:
    for path in [SRC / "cli.py", *GLUE.glob("*.py")]:
        assert _calls(path, "is_s3") == [], path
        tree = ast.parse(path.read_text())
        tests = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and any(isinstance(a, ast.Constant) and a.value == "s3://" for a in n.args)]
        assert tests == [], f"{path} tells an S3 location apart itself, at line(s) {tests}"


def test_nothing_below_the_session_locks_or_recovers() -> None:
    for rel in ("runner.py", "melbourne/run.py", "melbourne/landing.py", "melbourne/ingest.py", "melbourne/job.py",
                "lake.py"):
        path = SRC / rel
        assert _calls(path, "lock") == [] or rel == "lake.py", path
        assert _calls(path, "recover") == [] or rel == "lake.py", path
    assert "_HELD" not in (SRC / "lake.py").read_text()
