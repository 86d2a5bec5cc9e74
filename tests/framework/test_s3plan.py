"""The S3 lake's plan, decided without a server: what a pull fetches, what a push uploads under which key,
what garbage collection may delete."""

from __future__ import annotations

from footfall.s3plan import plan_collect, plan_pull, plan_push
from footfall.versions import OutputPath

HOURLY = OutputPath("transformed", "hourly_counts", True)
TOP = OutputPath("curated", "top10_by_day.csv", False)
OUTPUTS = (HOURLY, TOP)
R1, R2 = "20240101T000000000000Z-1", "20240102T000000000000Z-2"


def meta(size: int, md5: str, key: str) -> dict:
    return {"size": size, "md5": md5, "key": key}


JAN, FEB = "year=2024/month=1/a.parquet", "year=2024/month=2/b.parquet"
POINTER = {
    f"transformed/hourly_counts/{JAN}": meta(1, "a", f"transformed/hourly_counts/{R1}/{JAN}"),
    f"transformed/hourly_counts/{FEB}": meta(1, "b", f"transformed/hourly_counts/{R1}/{FEB}"),
    "curated/top10_by_day.csv": meta(3, "t", f"curated/top10_by_day.csv/{R1}/top10_by_day.csv"),
    "landing/counts/x.csv": meta(5, "x", "landing/counts/x.csv"),
    "landing/counts/x.manifest.json": meta(2, "xm", "landing/counts/x.manifest.json"),
}


def test_a_push_versions_only_the_partitions_that_changed_and_uploads_manifests_last() -> None:
    local = {rel: {"size": m["size"], "md5": m["md5"]} for rel, m in POINTER.items()}
    local["transformed/hourly_counts/year=2024/month=2/b.parquet"] = {"size": 1, "md5": "B"}
    local["landing/counts/y.csv"] = {"size": 4, "md5": "y"}
    local["landing/counts/y.manifest.json"] = {"size": 2, "md5": "ym"}
    plan = plan_push(OUTPUTS, POINTER, local, R2)
    assert plan.upload == [("landing/counts/y.csv", "landing/counts/y.csv"),
                           ("transformed/hourly_counts/year=2024/month=2/b.parquet",
                            f"transformed/hourly_counts/{R2}/year=2024/month=2/b.parquet"),
                           ("landing/counts/y.manifest.json", "landing/counts/y.manifest.json")]
    assert plan.files["transformed/hourly_counts/year=2024/month=1/a.parquet"]["key"].startswith(
        f"transformed/hourly_counts/{R1}/")
    assert plan.kept == 4 and plan.retired == []


def test_a_push_retires_inputs_the_working_copy_no_longer_has() -> None:
    local = {rel: {"size": m["size"], "md5": m["md5"]} for rel, m in POINTER.items() if "x." not in rel}
    assert plan_push(OUTPUTS, POINTER, local, R2).retired == ["landing/counts/x.csv", "landing/counts/x.manifest.json"]


def test_a_reader_pulls_only_the_outputs_it_names_and_drops_outputs_the_pointer_dropped() -> None:
    local = ["curated/top10_by_day.csv", "curated/old_answer.csv", "landing/counts/mine.csv"]
    plan = plan_pull((*OUTPUTS, OutputPath("curated", "old_answer.csv", False)), POINTER, local,
                     lambda rel: False, inputs=False, only=("transformed/hourly_counts/",))
    assert plan.delete == ["curated/old_answer.csv"]
    assert [rel for rel, _, _ in plan.download] == ["transformed/hourly_counts/year=2024/month=1/a.parquet",
                                                    "transformed/hourly_counts/year=2024/month=2/b.parquet"]


def test_a_writer_pulls_inputs_too_and_keeps_what_it_already_holds() -> None:
    plan = plan_pull(OUTPUTS, POINTER, ["landing/counts/x.csv"], lambda rel: rel == "landing/counts/x.csv",
                     inputs=True)
    assert plan.kept == 1 and len(plan.download) == len(POINTER) - 1


def test_garbage_collection_deletes_only_footfalls_unnamed_versions_and_retired_inputs() -> None:
    previous = {"files": POINTER, "retired": ["landing/counts/gone.csv"]}
    top = meta(3, "T", f"curated/top10_by_day.csv/{R2}/top10_by_day.csv")
    current = {"files": {**POINTER, "curated/top10_by_day.csv": top}}
    listed = [m["key"] for m in current["files"].values()] + [
        f"curated/top10_by_day.csv/{R1}/top10_by_day.csv",  # named by the previous pointer: kept
        "curated/top10_by_day.csv/20230101T000000000000Z-9/top10_by_day.csv",  # an old version: deleted
        "landing/counts/gone.csv",  # retired by the previous push: deleted
        "landing/counts/someone-elses.csv", "curated/notes/readme.txt"]  # not footfall's: kept
    assert plan_collect(OUTPUTS, listed, current, previous) == [
        "curated/top10_by_day.csv/20230101T000000000000Z-9/top10_by_day.csv", "landing/counts/gone.csv"]
