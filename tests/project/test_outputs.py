"""Files footfall writes at a path the user gives (`query --out`, `report --out`, `generate OUT --locations`)
never land inside a lake, however the path reaches it: only a run's publish writes there."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import footfall

from footfall.errors import OutputError
from footfall.lake.local import LocalLake
from footfall.output import check_target, lake_holding, underlying

PUBLISHED_CSV = b"date,rank,location_id,location,pedestrians\n2019-12-31,1,1,Bourke Street,100\n"


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (symlinks as their targets, files by content hash): a lake left as it was
    compares equal."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "dir"
    return found


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """A lake as a run leaves it, by its marks: zones, ``.published``, a curated CSV, transformed files."""
    root = tmp_path / "lake"
    LocalLake.at(root).ensure()
    (root / ".published").write_text('{"run_id": "20191231T000000-abc"}\n')
    (root / "curated" / "daily_counts.csv").write_bytes(PUBLISHED_CSV)
    (root / "curated" / "top10_by_month.parquet").write_bytes(b"PAR1 not really PAR1")
    (root / "transformed" / "locations.parquet").write_bytes(b"PAR1 locations PAR1")
    (root / "landing" / "counts").mkdir()
    (root / "landing" / "counts" / "0123456789abcdef0123.csv").write_bytes(b"ID,Hourly_Counts\n1,5\n")
    return root


def query_out(target: Path, lake: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return footfall("query", "select 1 as forged", "--lake", str(lake), "--format", "csv", "--out", str(target),
                    cwd=cwd)


def report_out(target: Path, lake: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return footfall("report", "--lake", str(lake), "--out", str(target), cwd=cwd)


def generate_out(target: Path, lake: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return footfall("generate", str(target), "--rows", "10", "--sensors", "1", cwd=cwd)


def generate_locations(target: Path, lake: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return footfall("generate", str(cwd / "counts.csv"), "--rows", "10", "--sensors", "1", "--locations",
                    str(target), cwd=cwd)


WRITERS = {"query --out": query_out, "report --out": report_out, "generate OUT": generate_out,
           "generate --locations": generate_locations}


def targets(lake: Path, tmp_path: Path) -> dict[str, Path]:
    """Ways to name a path inside ``lake``, each set up on disk."""
    outside = tmp_path / "elsewhere"
    outside.mkdir(exist_ok=True)
    (outside / "curated-link").symlink_to(lake / "curated")
    (outside / "answer-link.csv").symlink_to(lake / "curated" / "daily_counts.csv")
    (outside / "lake-link").symlink_to(lake)
    return {
        "the curated CSV": lake / "curated" / "daily_counts.csv",
        "a curated Parquet": lake / "curated" / "top10_by_month.parquet",
        ".published": lake / ".published",
        "a transformed file": lake / "transformed" / "locations.parquet",
        "a new file in transformed/": lake / "transformed" / "new.csv",
        "a landed file": lake / "landing" / "counts" / "0123456789abcdef0123.csv",
        "the lake's top folder": lake / "answer.csv",
        "through ..": lake / "landing" / ".." / "curated" / "daily_counts.csv",
        "from outside through ..": outside / ".." / "lake" / "curated" / "daily_counts.csv",
        "a symlinked folder": outside / "curated-link" / "daily_counts.csv",
        "a symlink to a lake file": outside / "answer-link.csv",
        "a symlink to the lake": outside / "lake-link" / "curated" / "new.csv",
    }


TARGET_NAMES = ["the curated CSV", "a curated Parquet", ".published", "a transformed file",
                "a new file in transformed/", "a landed file", "the lake's top folder", "through ..",
                "from outside through ..", "a symlinked folder", "a symlink to a lake file", "a symlink to the lake"]


def assert_refused(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "inside the lake at" in done.stderr and "only a run writes" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_every_way_of_naming_a_lake_path_is_found_inside_the_lake(lake: Path, tmp_path: Path) -> None:
    """The rule itself, for every name, by the lake's marks and by the lake given."""
    for name, target in targets(lake, tmp_path).items():
        for given in ((), (lake,)):
            with pytest.raises(OutputError, match=r"inside the lake at .*only a run writes"):
                check_target(target, given)
            assert lake_holding(target, given) is not None, name


# The forgeries first found and another name or two each; the whole matrix is the slow test below.
FAST = {"query --out": ("a curated Parquet", ".published", "a symlink to a lake file"),
        "report --out": ("the curated CSV", "from outside through .."),
        "generate OUT": ("a symlinked folder", "a new file in transformed/"),
        "generate --locations": ("through ..", "a landed file")}


@pytest.mark.parametrize(("writer", "name"), [(w, n) for w, names in FAST.items() for n in names])
def test_each_command_refuses_a_target_inside_the_lake_in_one_line(writer: str, name: str, lake: Path,
                                                                  tmp_path: Path) -> None:
    target = targets(lake, tmp_path)[name]
    before = snapshot(lake)
    assert_refused(WRITERS[writer](target, lake, tmp_path))
    assert snapshot(lake) == before


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("name", TARGET_NAMES)
def test_a_target_inside_a_lake_is_refused_in_one_line_and_the_lake_is_untouched(
        writer: str, name: str, lake: Path, tmp_path: Path) -> None:
    target = targets(lake, tmp_path)[name]
    before = snapshot(lake)
    assert_refused(WRITERS[writer](target, lake, tmp_path))
    assert snapshot(lake) == before


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_relative_target_from_inside_the_lake_is_refused(writer: str, lake: Path) -> None:
    before = snapshot(lake)
    done = WRITERS[writer](Path("curated") / "daily_counts.csv", lake, lake)
    assert_refused(done)
    assert snapshot(lake) == before


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_target_beside_the_lake_is_written(writer: str, lake: Path, tmp_path: Path) -> None:
    """The refusal is about the lake, not its neighbourhood: a file next to it (named through ``..``) is fine."""
    before = snapshot(lake)
    target = lake / ".." / "beside.csv"
    done = WRITERS[writer](target, lake, tmp_path)
    if writer == "report --out":  # this lake has no real tables: the report gets past the check, then fails
        assert "inside the lake" not in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "beside.csv").stat().st_size > 0
    assert snapshot(lake) == before


def test_a_hard_link_to_a_lake_file_is_replaced_not_written_through(lake: Path, tmp_path: Path) -> None:
    """The answer is renamed over the name given, so the lake's inode keeps its bytes."""
    link = tmp_path / "hardlink.csv"
    os.link(lake / "curated" / "daily_counts.csv", link)
    done = query_out(link, lake, tmp_path)
    assert done.returncode == 0, done.stderr
    assert link.read_text() == "forged\n1\n"
    assert (lake / "curated" / "daily_counts.csv").read_bytes() == PUBLISHED_CSV


def test_the_lake_given_to_query_is_refused_even_without_a_lake_s_marks(tmp_path: Path) -> None:
    """``--lake`` names the lake whatever it holds; it is compared by inode, through a symlinked name too."""
    bare = tmp_path / "bare"
    bare.mkdir()
    (tmp_path / "alias").symlink_to(bare)
    for target in (bare / "x.csv", tmp_path / "alias" / "x.csv"):
        assert_refused(query_out(target, bare, tmp_path))
    assert list(bare.iterdir()) == []


def test_a_folder_is_a_lake_by_its_publish_marker_or_all_three_zones(tmp_path: Path) -> None:
    published, zones, partial = tmp_path / "published", tmp_path / "zones", tmp_path / "partial"
    (published / "sub").mkdir(parents=True)
    (published / ".published").write_text("{}")
    for zone in ("landing", "transformed", "curated"):
        (zones / zone).mkdir(parents=True)
    for zone in ("landing", "curated"):  # two zones of three: a user's folder, not a lake
        (partial / zone).mkdir(parents=True)
    assert lake_holding(published / "sub" / "x.csv") == published
    assert lake_holding(zones / "x.csv") == zones
    assert lake_holding(partial / "curated" / "x.csv") is None
    assert lake_holding(tmp_path / "x.csv") is None
    assert underlying(tmp_path / "x.csv") is None  # not in a bind mount of a folder
    with pytest.raises(OutputError, match="inside the lake at"):
        check_target(zones / "curated" / "x.csv")


def test_an_upper_case_name_of_a_lake_folder_is_refused_where_the_disk_ignores_case(lake: Path,
                                                                                   tmp_path: Path) -> None:
    upper = Path(str(lake).upper())
    if not upper.exists() or not upper.samefile(lake):
        pytest.skip(f"the file system under {tmp_path} tells letter case apart: no other-case name reaches the lake")
    assert_refused(query_out(upper / "CURATED" / "DAILY_COUNTS.CSV", lake, tmp_path))


def test_an_upper_case_name_is_not_mistaken_for_the_lake_where_case_matters(lake: Path, tmp_path: Path) -> None:
    """On a case-sensitive disk the other-case name is another folder: refused only if it is a lake itself."""
    other = tmp_path / "LAKE"
    if other.exists():
        pytest.skip("the file system ignores letter case")
    other.mkdir()
    done = query_out(other / "answer.csv", lake, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("mounted", ["the lake", "its curated zone"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_bind_mount_of_the_lake_is_the_lake(writer: str, mounted: str, lake: Path, tmp_path: Path) -> None:
    """In a private mount namespace (nothing mounted outlives the test), the lake or one of its zones is
    bind-mounted elsewhere and the command writes through the mount: refused, since the mount is the same
    folder (for a zone, ``generate`` finds the lake's marks above the zone's real place)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make a private mount namespace")
    mount = tmp_path / "mounted"
    mount.mkdir()
    args = {"query --out": ["query", "select 1", "--lake", str(lake), "--format", "csv", "--out"],
            "report --out": ["report", "--lake", str(lake), "--out"],
            "generate OUT": ["generate", "--rows", "10", "--sensors", "1"],
            "generate --locations": ["generate", str(tmp_path / "c.csv"), "--rows", "10", "--locations"]}[writer]
    source = lake if mounted == "the lake" else lake / "curated"
    target = mount / "daily_counts.csv" if mounted == "its curated zone" else mount / "curated" / "daily_counts.csv"
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    probe = subprocess.run([unshare, "--mount", "--map-root-user", "sh", "-c", script, "sh", str(source),
                            str(mount), "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"bind mounts are not allowed here: {probe.stderr.strip()}")
    before = snapshot(lake)
    done = subprocess.run([unshare, "--mount", "--map-root-user", "sh", "-c", script, "sh", str(source), str(mount),
                           sys.executable, "-m", "footfall", *args, str(target)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert_refused(done)
    assert snapshot(lake) == before
    assert list(mount.iterdir()) == []  # the mount ended with its namespace


@pytest.mark.slow
def test_an_object_lake_in_a_folder_is_a_lake_too(files: dict[str, Path], tmp_path: Path) -> None:
    """A lake in a folder store is on disk: it is refused as a target like any lake, for every writer."""
    store = tmp_path / "store"
    first = footfall("run", "--lake", f"file://{store}", "--counts", str(files["archive"]))
    assert first.returncode == 0, first.stderr
    before = snapshot(store)
    done = footfall("query", "select 1 as forged", "--lake", f"file://{store}", "--format", "csv", "--out",
                    str(store / "curated" / "top10_by_month.csv"))
    assert done.returncode == 1 and done.stderr.count("error:") == 1, done.stderr
    assert "inside the lake at" in done.stderr.strip().splitlines()[-1]
    for writer in ("report --out", "generate OUT", "generate --locations"):
        assert_refused(WRITERS[writer](store / "curated" / "daily_counts.csv", store, tmp_path))
    assert snapshot(store) == before
