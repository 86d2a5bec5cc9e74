"""The lake: zones on disk, a lock, and write-audit-publish.

Every run writes under ``_staging/<run_id>/`` first. Publishing keeps a link to each output it will
replace, writes a journal (``PUBLISH``), then makes atomic moves: a file output replaces its old self
with one ``os.replace``; a directory output (partitioned Parquet) is a symlink swapped atomically to a
fresh version directory. A run killed before the journal leaves the previous outputs untouched; one
killed after it is rolled forward by the next run, or rolled back to the kept outputs when the journal
cannot be replayed. A finished publish names itself in ``.published``; readers check that marker and
the journals around their reads, so they see one run's outputs, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from footfall.errors import LakeError
from footfall.spec import TEMPORARY_SUFFIXES, ZONES, output_path, relative_path

STAGING = "_staging"
VERSIONS = "_versions"
SPILL = "_spill"
JOURNAL = "PUBLISH"
PREVIOUS = "_previous"
PUBLISHED = ".published"
MERGE = "_MERGE"
# Landing and parsing write <file_id>.<ext>.part and <file_id>.manifest.json.tmp, file ids being 20 hex digits.
LANDING_TEMPORARY = re.compile(r"^[0-9a-f]{20}(\.(csv|json|jsonl|parquet)\.part|\.manifest\.json\.tmp)$")
READ_WAIT = 30.0
READ_ATTEMPTS = 5
_HELD: dict[Path, int] = {}
T = TypeVar("T")


def new_run_id() -> str:
    """Sortable, unique enough for one lake: UTC time plus the process id."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"


@dataclass(frozen=True)
class Lake:
    root: Path

    @classmethod
    def at(cls, location: str | Path) -> Lake:
        text = str(location)
        if "://" in text:
            raise LakeError(f"unsupported lake location {text!r} (a local directory is expected)")
        return cls(Path(text).expanduser().resolve())

    def __str__(self) -> str:
        return str(self.root)

    def path(self, zone: str, *parts: str) -> Path:
        """A path inside a zone; config-given parts can never leave the lake."""
        if zone not in (*ZONES, STAGING):
            raise LakeError(f"unknown zone {zone!r} (zones: {', '.join(ZONES)})")
        for part in parts:
            try:
                relative_path(part)
            except ValueError as e:
                raise LakeError(str(e)) from None
        return self.root.joinpath(zone, *parts)

    def ensure(self) -> None:
        try:
            for zone in ZONES:
                self.path(zone).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LakeError(f"cannot create the lake: {e.strerror}", path=self.root) from None

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the lake for one writer. The kernel drops the lock with its holder, so a crashed
        run never leaves a stale lock behind. Re-entrant within a process."""
        if _HELD.get(self.root):
            _HELD[self.root] += 1
            try:
                yield
            finally:
                _HELD[self.root] -= 1
            return
        self.ensure()
        path = self.root / ".lock"
        with path.open("a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise LakeError(f"the lake is in use by {holder}; try again when it ends",
                                        path=self.root) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"footfall pid {os.getpid()}")
            handle.flush()
            _HELD[self.root] = 1
            try:
                yield
            finally:
                _HELD.pop(self.root, None)
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def stage(self, run_id: str | None = None) -> Staging:
        self.finish_publishes()
        run_id = run_id or new_run_id()
        folder = self.root / STAGING / run_id
        folder.mkdir(parents=True)
        return Staging(self, folder)

    def recover(self) -> list[Notice]:
        """Under the lock, before any work: finish publishes that were journaled (or roll back one that
        cannot be finished), drop staging that never got that far, and sweep what killed runs left behind."""
        notices = self.finish_publishes()
        self.sweep()
        return notices

    def finish_publishes(self) -> list[Notice]:
        """Finish or roll back every journaled publish; drop staging that has no journal."""
        notices: list[Notice] = []
        base = self.root / STAGING
        for folder in sorted(base.iterdir()) if base.is_dir() else []:
            if not folder.is_dir() or folder.is_symlink():
                folder.unlink(missing_ok=True)
            elif (folder / JOURNAL).exists():
                try:
                    Staging(self, folder).publish()
                except RolledBack as e:
                    notices.append(Notice(folder.name, e.message))
                else:
                    notices.append(Notice(folder.name, "finished publishing the outputs of an interrupted run"))
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return notices

    def sweep(self) -> list[Path]:
        """Remove the temporary files footfall writes, which only a killed process leaves behind: DuckDB's
        spill files, landing copies and manifests cut short (``<id>.csv.part``, ``<id>.manifest.json.tmp``),
        parsed files cut short, downloads in progress, and hidden ``.name.part``/``.tmp``/``.link`` entries
        beside outputs. Only under the lock and before any work, when nothing can be writing them."""
        found: list[Path] = []
        spill = self.root / SPILL
        if spill.is_dir() and not spill.is_symlink():
            found += spill.iterdir()
        incoming = self.root / "landing" / "_incoming"
        if incoming.is_dir() and not incoming.is_symlink():
            found.append(incoming)
        found += [*self.root.glob(".doctor-*"), *self.root.glob(".*.tmp")]
        for folder in [*(self.root / "landing").glob("*"), *(self.root / "transformed").glob("raw_*")]:
            if folder.is_dir() and not folder.is_symlink():
                found += [p for p in folder.iterdir() if LANDING_TEMPORARY.match(p.name)]
        for zone in ZONES:
            for folder, dirs, files in os.walk(self.root / zone):
                found += [Path(folder, n) for n in (*dirs, *files)
                          if n.startswith(".") and n.endswith(TEMPORARY_SUFFIXES)]
        for path in found:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return found

    # -- readers -------------------------------------------------------------------------------------

    def read(self, reader: Callable[[], T], wait: float = READ_WAIT) -> T:
        """Run ``reader`` against one published state of the lake, never a mix of two runs' outputs.

        Readers take no lock. A publish is a journal, moves, then a new ``.published`` marker and the
        journal's removal; a read that began and ended with no journal and the same marker saw one run's
        outputs. A publish under way is waited for (up to ``wait`` seconds); one whose writer died is
        refused in one line, since only a run can finish it."""
        for _ in range(READ_ATTEMPTS):
            before = self._settled(wait)
            try:
                value = reader()
            except Exception:
                if self._state() != before:
                    continue
                raise
            if self._state() == before:
                return value
        raise LakeError("the lake was republished again and again while being read; try again", path=self.root)

    def _state(self) -> tuple[str, tuple[str, ...]]:
        try:
            marker = (self.root / PUBLISHED).read_text()
        except FileNotFoundError:
            marker = ""
        except OSError as e:
            raise LakeError(f"cannot read {PUBLISHED}: {e.strerror}", path=self.root) from None
        return marker, tuple(sorted(p.parent.name for p in (self.root / STAGING).glob(f"*/{JOURNAL}")))

    def _settled(self, wait: float) -> tuple[str, tuple[str, ...]]:
        deadline = time.monotonic() + wait
        while True:
            state = self._state()
            if not state[1]:
                return state
            if not self._writer_alive():
                raise LakeError("a publish is unfinished (a run was stopped while publishing); run `footfall run` "
                                "(or `footfall pipeline run`) to finish it", path=self.root)
            if time.monotonic() >= deadline:
                raise LakeError(f"a publish has been under way for over {wait:.0f}s; try again when it ends",
                                path=self.root)
            time.sleep(0.05)

    def _writer_alive(self) -> bool:
        """Whether the process named in the lock file (a writer leaves its pid there until it ends) lives."""
        try:
            holder = (self.root / ".lock").read_text().strip()
        except OSError:
            return False
        pid = holder.rsplit(" ", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass(frozen=True)
class Notice:
    """What recovery did to a run's leftovers, in one line."""

    run_id: str
    message: str


class RolledBack(LakeError):
    """A publish could not be completed; the outputs it had replaced were put back."""


@dataclass(frozen=True)
class Staging:
    """One run's private copy of everything it will publish."""

    lake: Lake
    folder: Path

    @property
    def run_id(self) -> str:
        return self.folder.name

    def path(self, zone: str, relpath: str) -> Path:
        final = self.lake.path(zone, relpath)
        staged = self.folder / final.relative_to(self.lake.root)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def staged(self) -> list[tuple[str, str]]:
        """(zone, relpath) of every staged output: files, and directories holding a _SUCCESS."""
        found: list[tuple[str, str]] = []
        for zone in ZONES:
            top = self.folder / zone
            if not top.is_dir():
                continue
            for path in sorted(top.rglob("*")):
                if path.name == "_SUCCESS":
                    found.append((zone, path.parent.relative_to(top).as_posix()))
                elif path.is_file() and not any((p / "_SUCCESS").exists() for p in path.parents):
                    found.append((zone, path.relative_to(top).as_posix()))
        return found

    def mark_directory(self, zone: str, relpath: str, merge: bool = False) -> None:
        """A partitioned output is complete only once marked, so publish never moves half of one.

        With ``merge``, the output replaces only the partitions it holds: publishing carries every other
        partition of the current version over (hard links, no copies)."""
        folder = self.folder / zone / relpath
        folder.mkdir(parents=True, exist_ok=True)
        if merge:
            partitions = sorted({p.parent.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()})
            (folder / MERGE).write_text(json.dumps(partitions))
        (folder / "_SUCCESS").touch()

    def publish(self) -> list[str]:
        """Keep what each output replaces, journal, then move every staged output into place. Safe to repeat
        after a crash; a publish that cannot be completed (a staged file gone, an invalid entry, a target
        that cannot be written) is rolled back to the previous outputs and raises ``RolledBack``."""
        journal = self.folder / JOURNAL
        entries: list[dict[str, Any]] | None = None
        try:
            entries = self._read_journal() if journal.exists() else self._prepare()
            for entry in entries:
                _check_entry(entry.get("zone"), entry.get("rel"))
            for entry in entries:
                self._publish_one(entry)
        except (OSError, ValueError, TypeError, KeyError, LakeError) as e:
            if not journal.exists():
                self.discard()
                raise
            reason = e.message if isinstance(e, LakeError) else _reason(e)
            left = self._rollback(entries)
            restored = ("the previous outputs were put back" if not left else
                        f"the previous outputs were put back except {', '.join(left)}")
            raise RolledBack(f"could not publish run {self.folder.name} ({reason}); {restored}",
                             path=self.lake.root) from None
        self._finish(entries)
        return [f"{e['zone']}/{e['rel']}" for e in entries]

    def discard(self) -> None:
        """Drop an unpublished staging; a journaled one is kept for the next run to finish."""
        if not (self.folder / JOURNAL).exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- publishing ---------------------------------------------------------------------------------

    def _prepare(self) -> list[dict[str, Any]]:
        """Validate every staged output and keep a link to what it will replace, then write the journal."""
        entries: list[dict[str, Any]] = []
        for zone, rel in self.staged():
            _check_entry(zone, rel)
            staged = self.folder / zone / rel
            final = self.lake.path(zone, rel)
            backup = self.folder / PREVIOUS / zone / rel
            previous = None
            if final.is_symlink():
                backup.parent.mkdir(parents=True, exist_ok=True)
                backup.symlink_to(os.readlink(final))
                previous = "link"
            elif final.is_file():
                backup.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(final, backup)
                previous = "file"
            elif final.is_dir():
                previous = "dir"
            kind = "file" if staged.is_file() else "dir"
            stat = staged.stat()
            entries.append({"zone": zone, "rel": rel, "kind": kind, "previous": previous,
                            "inode": [stat.st_dev, stat.st_ino] if kind == "file" else None})
        journal = self.folder / JOURNAL
        tmp = journal.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 2, "entries": entries}))
        os.replace(tmp, journal)
        return entries

    def _read_journal(self) -> list[dict[str, Any]]:
        data = json.loads((self.folder / JOURNAL).read_text())
        if isinstance(data, list):  # the first journal format: [[zone, rel], ...]
            entries = [{"zone": z, "rel": r, "kind": "file" if (self.folder / z / r).is_file() else "dir",
                        "previous": "unknown", "inode": None} for z, r in data]
        elif isinstance(data, dict) and isinstance(data.get("entries"), list):
            entries = data["entries"]
        else:
            raise ValueError("the journal is not a list of outputs")
        if not all(isinstance(e, dict) and e.get("kind") in ("file", "dir") for e in entries):
            raise ValueError("the journal holds an entry that is not an output")
        return entries

    def _publish_one(self, entry: dict[str, Any]) -> None:
        zone, rel = entry["zone"], entry["rel"]
        staged = self.folder / zone / rel
        final = self.lake.path(zone, rel)
        if entry["kind"] == "file":
            if staged.is_file() and not staged.is_symlink():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, final)
            elif not _moved(entry, final):
                raise LakeError(f"the staged {zone}/{rel} is missing")
            return
        versions = self.lake.path(zone, VERSIONS, rel)
        version = versions / self.folder.name
        if staged.is_dir() and not staged.is_symlink():
            if (staged / MERGE).exists():
                _carry_over(final, staged)
            versions.mkdir(parents=True, exist_ok=True)
            os.replace(staged, version)
        if not version.is_dir():
            raise LakeError(f"the staged {zone}/{rel} is missing")
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_dir() and not final.is_symlink():
            backup = self.folder / PREVIOUS / zone / rel
            backup.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, backup)
        link = final.with_name(f".{final.name}.link")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.path.relpath(version, final.parent), target_is_directory=True)
        os.replace(link, final)

    def _finish(self, entries: list[dict[str, Any]]) -> None:
        """The publish is complete: say so to readers, then drop the journal and the versions it replaced."""
        marker = self.lake.root / PUBLISHED
        tmp = marker.with_name(marker.name + ".tmp")
        tmp.write_text(self.folder.name)
        os.replace(tmp, marker)
        (self.folder / JOURNAL).unlink()
        for entry in entries:
            if entry["kind"] == "dir":
                versions = self.lake.path(entry["zone"], VERSIONS, entry["rel"])
                for old in versions.iterdir() if versions.is_dir() else []:
                    if old.name != self.folder.name:
                        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _rollback(self, entries: list[dict[str, Any]] | None) -> list[str]:
        """Put back what the publish replaced, remove what it added; return the outputs that could not be
        restored. Without a readable journal, every kept previous output is put back."""
        left: list[str] = []
        if entries is None:
            entries = self._entries_from_backups()
        for entry in reversed(entries):
            try:
                _check_entry(entry.get("zone"), entry.get("rel"))
            except LakeError:
                continue  # never published: publishing checks every entry before moving any
            zone, rel = entry["zone"], entry["rel"]
            try:
                self._restore(entry)
            except (OSError, LakeError, KeyError, TypeError):
                left.append(f"{zone}/{rel}")
        shutil.rmtree(self.folder, ignore_errors=True)
        return left

    def _restore(self, entry: dict[str, Any]) -> None:
        """Put one output back as it was before this publish. A kept previous file or link is put back
        whether or not the publish got to this output (if it did not, that changes nothing); a folder that
        was never an output of this run is never touched."""
        final = self.lake.path(entry["zone"], entry["rel"])
        backup = self.folder / PREVIOUS / entry["zone"] / entry["rel"]
        version = self.lake.path(entry["zone"], VERSIONS, entry["rel"], self.folder.name)
        previous = entry.get("previous")
        kept = backup.is_symlink() or backup.exists()
        if entry["kind"] == "file":
            ours = _moved(entry, final) and previous != "unknown"
        else:
            ours = final.is_symlink() and final.resolve() == version.resolve()
        if previous in ("file", "link") and kept:
            if not (final.is_dir() and not final.is_symlink()):
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(backup, final)
        elif previous == "dir" and ours and kept:
            final.unlink()
            os.replace(backup, final)
        elif previous is None and ours:
            final.unlink()
        elif ours and previous != "unknown":
            raise LakeError(f"the previous {entry['zone']}/{entry['rel']} was not kept")
        if entry["kind"] == "dir" and version.is_dir():
            shutil.rmtree(version, ignore_errors=True)

    def _entries_from_backups(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for zone in ZONES:
            top = self.folder / PREVIOUS / zone
            for folder, dirs, files in os.walk(top) if top.is_dir() else []:
                here = Path(folder)
                if (here / "_SUCCESS").is_file():  # a whole directory output, moved aside
                    found.append({"zone": zone, "rel": here.relative_to(top).as_posix(), "kind": "dir",
                                  "previous": "dir", "inode": None})
                    dirs.clear()
                    continue
                for name in [*files, *(d for d in dirs if (here / d).is_symlink())]:
                    path = here / name
                    link = path.is_symlink()
                    found.append({"zone": zone, "rel": path.relative_to(top).as_posix(), "kind": "dir" if link
                                  else "file", "previous": "link" if link else "file", "inode": None})
        return found


def _check_entry(zone: object, rel: object) -> None:
    """A journal entry names an output inside a zone, never a zone root or the lake's own folders."""
    if zone not in ZONES or not isinstance(rel, str):
        raise LakeError(f"invalid journal entry {zone!r}/{rel!r}")
    try:
        output_path(rel)
    except ValueError as e:
        raise LakeError(str(e)) from None


def _moved(entry: dict[str, Any], final: Path) -> bool:
    """Whether a file entry's staged file is what now sits at its final path."""
    try:
        stat = final.stat(follow_symlinks=False)
    except FileNotFoundError:
        return False
    if entry.get("inode") is None:
        return entry.get("previous") == "unknown"
    return [stat.st_dev, stat.st_ino] == list(entry["inode"])


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _carry_over(current: Path, staged: Path) -> None:
    """Link the current version's partitions that the staged output does not replace into it.
    Idempotent (files already there are skipped), so a publish interrupted here can run again."""
    replaced = set(json.loads((staged / MERGE).read_text()))
    if current.is_dir():
        for path in current.rglob("*"):
            if not path.is_file() or path.parent == current:
                continue
            rel = path.relative_to(current)
            if rel.parent.as_posix() in replaced:
                continue
            target = staged / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(path, target)
    (staged / MERGE).unlink()
