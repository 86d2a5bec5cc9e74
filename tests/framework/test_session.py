"""One way in: every caller opens its lake through the context, a writer holds a local lake once and
everything below works on the held lake; only ``lake/open.py`` tells a folder from an object store; only
``settings.py`` reads the environment; the lake mode follows from what an engine declares it can do."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from support.cli import in_process

from footfall.context import Context
from footfall.dag import load_pipeline
from footfall.engines import ENGINES
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import FootfallError
from footfall.lake.local import LocalLake
from footfall.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src" / "footfall"
GLUE = Path(__file__).resolve().parents[2] / "glue"


@pytest.fixture
def locks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The roots of every lock the process takes from here on, in order."""
    taken: list[Path] = []
    lock = LocalLake.lock

    @contextlib.contextmanager
    def counted(self: LocalLake) -> Iterator[None]:
        taken.append(self.root)
        with lock(self):
            yield

    monkeypatch.setattr(LocalLake, "lock", counted)
    return taken


def test_a_local_run_locks_its_lake_once(files: dict[str, Path], tmp_path: Path, locks: list[Path],
                                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lake = tmp_path / "lake"
    code, _, err = in_process(capsys, monkeypatch, "run", "--counts", str(files["archive"]), "--lake", str(lake))
    assert code == 0, err
    assert locks == [lake.resolve()]
    assert (lake / "curated" / "top10_by_day.csv").is_file()


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


def test_a_run_on_an_object_lake_locks_nothing_and_leaves_no_work_folder(
        make_pipeline, tmp_path: Path, locks: list[Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_pipeline("""
        name: one
        outputs:
          - {table: answer, zone: curated, path: answer.csv, format: csv}
        """, {"answer": "SELECT 42 AS answer"})
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, _, err = in_process(capsys, monkeypatch, "pipeline", "run", str(pipe), "--lake",
                              f"file://{tmp_path / 'store'}")
    assert code == 0, err
    assert locks == [] and list((tmp_path / "tmp").iterdir()) == []
    assert (tmp_path / "store" / "_current.json").is_file()


def test_a_second_hold_inside_a_session_is_refused(tmp_path: Path) -> None:
    """Nothing below a session may lock again: the lock is not re-entrant, so a hidden second hold fails."""
    from footfall.errors import LakeError

    lake = LocalLake.at(tmp_path)
    with lake.session(), pytest.raises(LakeError, match="in use by footfall pid"), lake.lock():
        pass


class Local(DuckDBEngine):
    """An engine that reaches no object store."""

    REACHES_OBJECT_STORES: ClassVar[bool] = False


def test_an_engine_that_cannot_reach_an_object_store_is_refused_by_what_it_declares(
        make_pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENGINES, "local-only", (__name__, "Local", None))
    pipe = make_pipeline("""
        name: one
        outputs:
          - {table: answer, zone: curated, path: answer.csv, format: csv}
        """, {"answer": "SELECT 42 AS answer"})
    context = Context(load_pipeline(pipe), Settings(lake=f"file://{tmp_path / 'store'}", engine="local-only"))
    with context.lake(write=True) as held, pytest.raises(FootfallError, match=r"^the duckdb engine cannot reach "):
        context.run(held)
    local = Context(load_pipeline(pipe), Settings(lake=str(tmp_path / "lake"), engine="local-only"))
    with local.lake(write=True) as held:
        assert local.run(held).published == ["curated/answer.csv"]


def test_settings_take_a_flag_over_the_environment_over_the_default() -> None:
    env = {"FOOTFALL_LAKE": "/from/env", "AWS_ENDPOINT_URL": "http://env", "FOOTFALL_PORTAL_URL": "http://portal"}
    assert Settings.resolve(env).lake == "/from/env" and Settings.resolve({}).lake == "lake"
    assert Settings.resolve(env, lake="/from/flag").lake == "/from/flag"
    assert Settings.resolve(env).s3_endpoint == "http://env"
    assert Settings.resolve({**env, "AWS_ENDPOINT_URL_S3": "http://s3"}).s3_endpoint == "http://s3"
    assert Settings.resolve(env).extra["PORTAL_URL"] == "http://portal"
    with pytest.raises(FootfallError, match="FOOTFALL_MEMORY_LIMIT must be an amount of memory"):
        Settings.resolve({"FOOTFALL_MEMORY_LIMIT": "lots"})
    assert "socrata_app_token" not in repr(Settings.resolve({"SOCRATA_APP_TOKEN": "secret-token"}))
    assert "secret-token" not in repr(Settings.resolve({"SOCRATA_APP_TOKEN": "secret-token"}))


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
            and (getattr(n.func, "id", None) == name or getattr(n.func, "attr", None) == name)]


def test_only_lake_open_tells_a_folder_from_an_object_store() -> None:
    callers = [SRC / "cli.py", SRC / "context.py", *(SRC / "melbourne").glob("*.py"), *GLUE.glob("*.py")]
    for path in callers:
        tree = ast.parse(path.read_text())
        tests = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and any(isinstance(a, ast.Constant) and a.value in ("s3://", "file://") for a in n.args)]
        assert tests == [], f"{path} tells a location apart itself, at line(s) {tests}"


def test_nothing_below_the_open_lake_locks_or_recovers() -> None:
    for rel in ("runner.py", "context.py", "melbourne/run.py", "melbourne/landing.py", "melbourne/ingest.py",
                "melbourne/job.py", "lake/objects.py", "lake/journal.py"):
        assert _calls(SRC / rel, "lock") == [], rel
        assert _calls(SRC / rel, "recover") == [], rel


def test_only_settings_read_the_environment() -> None:
    """Every environment variable is read once, by ``Settings.resolve``; the workbook reader only hands the
    environment on to the child process it starts."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        reads = [n.lineno for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv")]
        if rel == "settings.py":
            assert reads
        elif rel == "melbourne/workbook.py":
            assert len(reads) == 1, reads
        else:
            assert reads == [], f"{rel} reads the environment at line(s) {reads}"
