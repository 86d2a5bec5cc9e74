"""A lake in a local folder: zones on disk, a lock, consistent reads, and write-audit-publish.

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
import glob
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from footfall.errors import LakeError, escaped, file_in_the_way, os_failure
from footfall.lake.journal import JOURNAL, LocalStaging, Notice, finish_publishes
from footfall.lake.layout import SPILL, STAGING, lake_path, new_run_id
from footfall.spec import PUBLISHED, TEMPORARY_SUFFIXES, ZONES

READ_WAIT = 30.0
READ_ATTEMPTS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class LocalLake:
    """A lake in a folder; what its engines read are paths."""

    root: Path

    @classmethod
    def at(cls, location: str | Path) -> LocalLake:
        text = str(location)
        if "://" in text:
            raise LakeError(f"unsupported lake location {text!r} (a local directory is expected)")
        root = Path(text).expanduser().resolve()
        try:
            str(root).encode("utf-8")
        except UnicodeEncodeError:
            raise LakeError("the lake's path is not UTF-8 text, and the engines open only UTF-8 paths: rename the "
                            "folder or choose another", path=escaped(str(root))) from None
        return cls(root)

    def __str__(self) -> str:
        return str(self.root)

    def path(self, zone: str, *parts: str) -> Path:
        """A path inside a zone; config-given parts can never leave the lake."""
        return lake_path(self.root, zone, *parts)

    def roots(self) -> list[str]:
        """What an engine running on this lake may touch."""
        return [str(self.root)]

    @property
    def spill(self) -> Path:
        return self.root / SPILL

    def sources(self, pattern: str, fmt: str, local: bool = False) -> list[str]:
        """The files a source's lake path names, sorted; a folder stands for every ``*.<fmt>`` below it (local
        files whatever ``local`` asks)."""
        path = self.root / pattern
        if path.is_dir():
            path = path / "**" / f"*.{fmt}"
        return sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())

    def files(self) -> dict[str, Path]:
        """Every file of the zones by lake path: what an object lake would hold (no staging, versions, hidden,
        ``_``-prefixed or temporary entries)."""
        found: dict[str, Path] = {}
        for zone in ZONES:
            for here, dirs, names in os.walk(self.root / zone, followlinks=True):
                dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
                for name in names:
                    if not name.startswith((".", "_")) and not name.endswith(TEMPORARY_SUFFIXES):
                        path = Path(here, name)
                        found[path.relative_to(self.root).as_posix()] = path
        return found

    def has(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def paths(self, pattern: str) -> list[str]:
        """The lake paths of the files a lake glob names, sorted."""
        return sorted(Path(p).relative_to(self.root).as_posix() for p in glob.glob(str(self.root / pattern))
                      if Path(p).is_file())

    def lend(self, work: LocalLake, rels: Sequence[str]) -> None:
        """Put published files into a job's local lake: nothing to do when the job works in this lake."""
        if work.root != self.root:
            for rel in rels:
                target = work.root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.root / rel, target)

    def publish_inputs(self) -> None:
        """Inputs land in place here: nothing to publish."""

    def take(self, work: LocalLake) -> list[str]:
        """Adopt the inputs a job landed and parsed in ``work``: they are already in place here."""
        return []

    @contextlib.contextmanager
    def snapshot(self, prefixes: Sequence[str] = ()) -> Iterator[LocalLake]:
        """The lake itself: its files are already here (an object lake downloads the ones asked for)."""
        yield self

    def ensure(self) -> None:
        self.refuse_a_file()
        try:
            for zone in ZONES:
                self.path(zone).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise os_failure(e, "cannot create the lake", self.root) from None

    def refuse_a_file(self) -> None:
        """A lake is a folder: a file at its path, or on the way to it, is named as such in one line."""
        blocker = file_in_the_way(self.root)
        if blocker == self.root:
            raise LakeError("is a file, not a folder: a lake is a folder (give another path)", path=self.root)
        if blocker is not None:
            raise LakeError(f"cannot be a lake: {blocker} is a file, not a folder", path=self.root)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the lake for one writer. The kernel drops the lock with its holder, so a crashed run never
        leaves a stale lock behind. Not re-entrant: a run takes it once (:meth:`session`) and hands the held
        lake down, so a second hold, even in the same process, is refused as another writer's."""
        self.ensure()
        path = self.root / ".lock"
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise LakeError(f"the lake is in use by {holder}; try again when it ends", path=self.root) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"footfall pid {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def session(self, scratch: Sequence[str] = (), temporaries: re.Pattern[str] | None = None
                ) -> Iterator[list[Notice]]:
        """One writer's run: ensure the zones, lock (:meth:`lock` does both), recover (see :meth:`recover`),
        once; everything the run does below happens inside and never locks again. Yields what recovery did."""
        with self.lock():
            yield self.recover(scratch, temporaries)

    def stage(self, run_id: str | None = None, local: bool = False) -> LocalStaging:
        """A run's private staging folder (local, whatever ``local`` says); publishes left by a killed run
        were settled by :meth:`recover`."""
        run_id = run_id or new_run_id()
        folder = self.root / STAGING / run_id
        folder.mkdir(parents=True)
        return LocalStaging(self.root, folder)

    def recover(self, scratch: Sequence[str] = (), temporaries: re.Pattern[str] | None = None) -> list[Notice]:
        """Under the lock, before any work: finish publishes that were journaled (or roll back one that
        cannot be finished), drop staging that never got that far, and sweep what killed runs left behind
        (``scratch``: lake-relative folders a job keeps only temporaries in; ``temporaries``: the lake paths
        of the files a job writes under a temporary name)."""
        notices = finish_publishes(self.root)
        self.sweep(scratch, temporaries)
        return notices

    def sweep(self, scratch: Sequence[str] = (), temporaries: re.Pattern[str] | None = None) -> list[Path]:
        """Remove the temporary files footfall writes, which only a killed process leaves behind: engine spill
        files, whatever is in the job's ``scratch`` folders (downloads in progress), the hidden
        ``.name.part``/``.tmp``/``.link`` entries beside outputs, and the files whose lake path the job's
        ``temporaries`` match in full (its own files cut short). Only under the lock and before any work,
        when nothing can be writing them."""
        found: list[Path] = []
        for rel in (SPILL, *scratch):
            folder = self.root / rel
            if folder.is_dir() and not folder.is_symlink():
                found += folder.iterdir()
        found += [*self.root.glob(".doctor-*"), *self.root.glob(".*.tmp")]
        for zone in ZONES:
            for here, dirs, files in os.walk(self.root / zone):
                for name in (*dirs, *files):
                    path = Path(here, name)
                    hidden = name.startswith(".") and name.endswith(TEMPORARY_SUFFIXES)
                    if hidden or (temporaries and temporaries.fullmatch(path.relative_to(self.root).as_posix())):
                        found.append(path)
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
            self.refuse_a_file()
            raise os_failure(e, f"cannot read {PUBLISHED}", self.root) from None
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
