"""A lake on an object store, the same tests on each store footfall has: S3 (moto's server on loopback, over
HTTP) and a folder of files. A run reads the pointer once, the engine writes under its own run's keys, and
one compare-and-swap of the pointer publishes everything or nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from footfall.dag import load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import EngineError, LakeError
from footfall.lake.cache import STALE, ObjectCache
from footfall.lake.layout import published
from footfall.lake.local import LocalLake
from footfall.lake.objects import ObjectLake
from footfall.lake.open import open_lake, open_store
from footfall.lake.plan import plan_collect
from footfall.lake.pointer import POINTER
from footfall.lake.store import Conflict, ObjectStore
from footfall.runner import RunResult, run_pipeline

SPEC = """\
name: shops
sources:
  sales: {path: landing/sales, format: csv}
steps:
  totals:
    checks: [{range: {column: total, min: 0}}]
outputs:
  - {table: totals, zone: transformed, partition_by: [shop], overwrite: partitions}
  - {table: totals, zone: curated, format: csv, order_by: [shop]}
  - {table: rollup, zone: curated, format: csv}
"""
SQL = {"totals": "select shop, sum(amount)::bigint as total from sales group by shop",
       "rollup": "select count(*) as shops, sum(total) as total from totals"}


@pytest.fixture(params=["s3", "folder"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty lake on each kind of object store."""
    if request.param == "s3":
        s3: SimpleNamespace = request.getfixturevalue("s3")
        return str(s3.uri)
    return f"file://{tmp_path / 'store'}"


@pytest.fixture
def shops(make_pipeline: Callable[..., Path]) -> Path:
    return make_pipeline(SPEC, SQL)


def store_of(location: str) -> ObjectStore:
    return open_store(location, None, None)


def pointer(location: str) -> dict:
    got = store_of(location).get(POINTER)
    assert got is not None
    return json.loads(got[0])


def keys(location: str) -> set[str]:
    return {o.key for o in store_of(location).list("")}


def read(location: str, rel: str) -> bytes:
    """A published file read the way any client would: through the pointer, by the store alone."""
    got = store_of(location).get(pointer(location)["files"][rel]["key"])
    assert got is not None
    return got[0]


def run(root: Path, location: str, inputs: dict[str, str], engine: DuckDBEngine | None = None,
        cache: Path | None = None, rebuild: bool = False) -> RunResult:
    """Land ``inputs`` (lake path -> text) in the work folder, let the lake take them, run the pipeline."""
    pipeline = load_pipeline(root)
    with open_lake(location, published(pipeline.spec), write=True, cache=cache) as held:
        for rel, text in inputs.items():
            (held.work.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (held.work.root / rel).write_text(text)
        held.lake.take(held.work)
        with engine or DuckDBEngine(threads=1, store=store_of(location)) as eng:
            return run_pipeline(pipeline, held.lake, eng, rebuild=rebuild)


def test_a_run_publishes_through_the_pointer_and_reads_back_what_a_local_lake_gives(
        shops: Path, location: str, tmp_path: Path) -> None:
    local = LocalLake.at(tmp_path / "local")
    local.ensure()
    (local.root / "landing/sales").mkdir()
    (local.root / "landing/sales/a.csv").write_text("shop,amount\na,10\nb,5\n")
    with DuckDBEngine(threads=1) as engine:
        run_pipeline(load_pipeline(shops), local, engine)

    result = run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\nb,5\n"})
    files = pointer(location)["files"]
    assert set(result.published) == {"transformed/totals", "curated/totals.csv", "curated/rollup.csv"}
    assert "landing/sales/a.csv" in files and files["landing/sales/a.csv"]["key"] == "landing/sales/a.csv"
    assert read(location, "curated/totals.csv") == (local.root / "curated/totals.csv").read_bytes()
    assert read(location, "curated/rollup.csv") == (local.root / "curated/rollup.csv").read_bytes()
    parts = sorted(rel for rel in files if rel.startswith("transformed/totals/"))
    assert parts == ["transformed/totals/shop=a/part-0.parquet", "transformed/totals/shop=b/part-0.parquet"]
    assert all(files[rel]["key"].startswith(f"transformed/totals/{result.run_id}/shop=") for rel in parts)


def test_a_run_with_nothing_new_builds_and_writes_nothing(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    before, listing = pointer(location), keys(location)
    again = run(shops, location, {})
    assert again.unchanged and pointer(location) == before and keys(location) == listing


def test_a_merge_publish_replaces_only_the_partitions_it_wrote(shops: Path, location: str) -> None:
    first = run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\nb,5\n"})
    store = store_of(location)
    lake = ObjectLake.open(store, published(load_pipeline(shops).spec), Path("/nonexistent"))
    staging = lake.stage()
    staging.path("transformed", "totals")
    store.put(f"transformed/totals/{staging.run_id}/shop=b/part-0.parquet", b"new b", if_match=None)
    store.put(f"transformed/totals/{staging.run_id}/shop=c/part-0.parquet", b"new c", if_match=None)
    staging.mark_directory("transformed", "totals", merge=True)
    staging.publish()
    files = pointer(location)["files"]
    assert files["transformed/totals/shop=a/part-0.parquet"]["key"].startswith(
        f"transformed/totals/{first.run_id}/")
    assert [files[f"transformed/totals/shop={s}/part-0.parquet"]["key"].split("/")[2] for s in "bc"] == \
        [staging.run_id] * 2
    assert read(location, "transformed/totals/shop=c/part-0.parquet") == b"new c"


def test_a_failed_run_publishes_nothing_and_leaves_no_objects_of_its_own(shops: Path, location: str,
                                                                         make_pipeline: Callable[..., Path]) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    before, listing = pointer(location), keys(location)
    broken = make_pipeline(SPEC, {**SQL, "rollup": "select no_such_column from totals"}, name="broken")
    with pytest.raises(EngineError, match=r"^rollup: "):
        run(broken, location, {})
    assert pointer(location) == before and keys(location) == listing
    assert read(location, "curated/rollup.csv") == b"shops,total\n1,10\n"


def test_of_two_writers_at_once_one_publishes_and_the_other_is_told(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    tables = published(load_pipeline(shops).spec)
    store = store_of(location)
    slow = ObjectLake.open(store, tables, Path("/nonexistent"))
    fast = ObjectLake.open(store, tables, Path("/nonexistent"))
    fast.stage().publish()
    winner = pointer(location)
    with pytest.raises(Conflict, match="another run published to this lake while this one ran"):
        slow.stage().publish()
    assert pointer(location) == winner


def test_the_pointer_is_switched_only_if_nobody_else_switched_it(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    current = pointer(location)
    store = store_of(location)
    lake = ObjectLake.open(store, published(load_pipeline(shops).spec), Path("/nonexistent"))
    for stale in ('"0123456789abcdef0123456789abcdef"', None):
        with pytest.raises(LakeError, match="another run published"):
            lake.pointer.switch({**current, "run_id": "late"}, stale)
    assert pointer(location) == current


def test_garbage_collection_spares_what_either_pointer_names_and_what_footfall_did_not_write(
        shops: Path, location: str) -> None:
    first = run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    store = store_of(location)
    foreign = ("notes/readme.txt", "curated/totals.csv/notes.txt", "transformed/other/data.parquet")
    for key in foreign:
        (Path(store.uri(key)).parent.mkdir(parents=True, exist_ok=True) if "://" not in store.uri(key) else None)
        store.put(key, b"not footfall's", if_match=None)
    older = pointer(location)
    run(shops, location, {"landing/sales/b.csv": "shop,amount\na,1\n"})
    third = run(shops, location, {"landing/sales/c.csv": "shop,amount\na,2\n"})
    named = {m["key"] for m in (*older["files"].values(), *pointer(location)["files"].values())}
    assert all(k in keys(location) for k in foreign)
    assert not any(f"/{first.run_id}/" in k for k in keys(location) - named)
    assert {k for k in keys(location) if f"/{third.run_id}/" in k} <= named


def test_an_input_a_job_sets_aside_leaves_the_lake_one_publish_later(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n", "landing/sales/b.csv": "shop,amount\nb,1\n"})
    pipeline = load_pipeline(shops)
    with open_lake(location, published(pipeline.spec), write=True) as held:
        held.lake.lend(held.work, ["landing/sales/b.csv"])
        (held.work.root / "landing/sales/b.csv").unlink()
        held.lake.take(held.work)
        held.lake.publish_inputs()
    assert "landing/sales/b.csv" not in pointer(location)["files"]
    assert pointer(location)["retired"] == ["landing/sales/b.csv"] and "landing/sales/b.csv" in keys(location)
    run(shops, location, {"landing/sales/c.csv": "shop,amount\nc,3\n"})
    assert "landing/sales/b.csv" not in keys(location)


def test_a_reader_downloads_only_the_tables_it_reads(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    pipeline = load_pipeline(shops)
    with open_lake(location, published(pipeline.spec), write=False) as held, \
            held.lake.snapshot(["curated/rollup.csv"]) as local:
        assert sorted(local.files()) == ["curated/rollup.csv"]
        assert local.path("curated", "rollup.csv").read_bytes() == b"shops,total\n1,10\n"
        assert local.read(lambda: 1) == 1
    assert not local.root.exists()


def test_a_tampered_pointer_is_refused_before_anything_is_read(shops: Path, location: str) -> None:
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"})
    bad = pointer(location)
    etag = store_of(location).get(POINTER)
    assert etag is not None
    bad["files"]["transformed/totals/../../../../escaped.csv"] = bad["files"]["curated/rollup.csv"]
    store_of(location).put(POINTER, json.dumps(bad).encode(), if_match=etag[1])
    with pytest.raises(LakeError, match=re.escape("the lake's pointer names a path outside the lake: "
                                                  "'transformed/totals/../../../../escaped.csv'")), \
            open_lake(location, published(load_pipeline(shops).spec), write=False):
        pass


def test_garbage_is_planned_from_the_pointers_alone() -> None:
    from footfall.lake.layout import Table

    out = (Table("a", "a", "curated", "a.csv", "csv", False),)
    r1, r2 = "20230101T000000000000Z-1", "20240101T000000000000Z-2"
    now = {"files": {"curated/a.csv": {"key": f"curated/a.csv/{r2}/a.csv"}}, "retired": ["landing/x.csv"]}
    before = {"files": {"curated/a.csv": {"key": f"curated/a.csv/{r1}/a.csv"}}, "retired": ["landing/y.csv"]}
    listed = [f"curated/a.csv/{r1}/a.csv", f"curated/a.csv/{r2}/a.csv", "curated/mine.txt", "landing/y.csv",
              "landing/x.csv", f"curated/a.csv/{r1}/extra.csv"]
    assert plan_collect(out, listed, now, before) == ["landing/y.csv", f"curated/a.csv/{r1}/extra.csv"]


def test_the_read_cache_holds_what_the_pointer_names_and_dropping_it_changes_no_answer(
        shops: Path, location: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\nb,5\n"}, cache=cache)
    run(shops, location, {"landing/sales/b.csv": "shop,amount\nb,1\n"}, cache=cache)
    named = {meta["key"] for meta in pointer(location)["files"].values()}
    folder = next((cache / "objects").iterdir())
    cached = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != ".index.json"}
    assert {"landing/sales/a.csv", "landing/sales/b.csv"} <= cached <= named
    answer = read(location, "curated/totals.csv")
    (folder / "landing/sales/a.csv").write_text("shop,amount\na,999999\n")  # a copy that is not the object
    run(shops, location, {}, cache=cache, rebuild=True)
    assert read(location, "curated/totals.csv") == answer
    shutil.rmtree(cache)
    run(shops, location, {}, cache=cache, rebuild=True)
    assert read(location, "curated/totals.csv") == answer == b"shop,total\na,10\nb,6\n"


def test_what_a_run_writes_is_uploaded_and_kept_as_the_next_runs_cached_copy(
        shops: Path, location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\nb,5\n"}, cache=cache)
    folder = next((cache / "objects").iterdir())
    index = json.loads((folder / ".index.json").read_text())
    outputs = {meta["key"] for rel, meta in pointer(location)["files"].items() if not rel.startswith("landing/")}
    assert len(outputs) == 5  # two partitions, two CSVs, the run's record
    for key in outputs:
        got = store_of(location).get(key)
        assert got is not None and (folder / key).read_bytes() == got[0]
        assert index[key][0] == got[1].strip('"')
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {".index.json"} \
        == outputs | {"landing/sales/a.csv"}

    downloaded: list[str] = []
    for store in (type(store_of(location)),):
        original = store.download
        monkeypatch.setattr(store, "download", lambda self, key, path, original=original: (
            downloaded.append(key), original(self, key, path))[1])
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\nb,5\n"}, cache=cache)
    assert downloaded == []  # the record of the last run read from the copy it wrote
    run(shops, location, {"landing/sales/b.csv": "shop,amount\nb,1\n"}, cache=cache)
    assert downloaded == ["landing/sales/b.csv"]


def test_a_failed_run_leaves_nothing_of_its_own_in_the_read_cache(
        shops: Path, location: str, tmp_path: Path, make_pipeline: Callable[..., Path]) -> None:
    cache = tmp_path / "cache"
    run(shops, location, {"landing/sales/a.csv": "shop,amount\na,10\n"}, cache=cache)
    folder = next((cache / "objects").iterdir())
    before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    late = SPEC.replace("steps:\n", "steps:\n  rollup: {materialize: view}\n")  # fails as the last output is written
    failing = {**SQL, "rollup": "select case when total > 0 then error('no') end as broken from totals"}
    with pytest.raises(EngineError, match=r"^rollup: "):
        run(make_pipeline(late, failing, name="late"), location, {}, cache=cache, rebuild=True)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == before


def test_the_cache_sweeps_what_a_killed_run_left_a_day_later_and_spares_a_running_ones(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "objects")
    for key in ("landing/a.csv", "curated/t.csv/r1/t.csv", "curated/t.csv/r2/t.csv"):
        (cache.root / key).parent.mkdir(parents=True, exist_ok=True)
        (cache.root / key).write_text("x")
    cache.adopt({"landing/a.csv": {"size": 1, "md5": "m"}})
    old = time.time() - STALE - 60
    os.utime(cache.root / "curated/t.csv/r1/t.csv", (old, old))  # a killed run's, a day old
    assert cache.keep({"landing/a.csv"}) == 0
    assert sorted(p.relative_to(cache.root).as_posix() for p in cache.root.rglob("*") if p.is_file()) == [
        ".index.json", "curated/t.csv/r2/t.csv", "landing/a.csv"]
