"""The lake: zones on disk, a lock, and write-audit-publish.

Every run writes under ``_staging/<run_id>/`` first. Publishing is a journal written last
(``PUBLISH``) followed by atomic moves: a file output replaces its old self with one
``os.replace``; a directory output (partitioned Parquet) is a symlink swapped atomically to a
fresh version directory. A run killed before the journal leaves the previous outputs untouched;
one killed after it is rolled forward by the next run. Readers therefore see the old outputs or
the new ones, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from footfall.errors import LakeError
from footfall.spec import ZONES, relative_path

STAGING = "_staging"
VERSIONS = "_versions"
JOURNAL = "PUBLISH"
MERGE = "_MERGE"
_HELD: dict[Path, int] = {}


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
        self.recover()
        run_id = run_id or new_run_id()
        folder = self.root / STAGING / run_id
        folder.mkdir(parents=True)
        return Staging(self, folder)

    def recover(self) -> list[str]:
        """Finish publishes that were journaled, drop staging that never got that far."""
        done: list[str] = []
        base = self.root / STAGING
        for folder in sorted(base.iterdir()) if base.is_dir() else []:
            staging = Staging(self, folder)
            if (folder / JOURNAL).exists():
                staging.publish()
                done.append(folder.name)
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return done


@dataclass(frozen=True)
class Staging:
    """One run's private copy of everything it will publish."""

    lake: Lake
    folder: Path

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
        """Journal, then move every staged output into place. Safe to repeat after a crash."""
        journal = self.folder / JOURNAL
        if journal.exists():
            entries = json.loads(journal.read_text())
        else:
            entries = [[zone, rel] for zone, rel in self.staged()]
            tmp = journal.with_suffix(".tmp")
            tmp.write_text(json.dumps(entries))
            os.replace(tmp, journal)
        for zone, rel in entries:
            self._publish_one(zone, rel)
        shutil.rmtree(self.folder, ignore_errors=True)
        return [f"{zone}/{rel}" for zone, rel in entries]

    def discard(self) -> None:
        """Drop an unpublished staging; a journaled one is kept for the next run to finish."""
        if not (self.folder / JOURNAL).exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def _publish_one(self, zone: str, rel: str) -> None:
        staged = self.folder / zone / rel
        final = self.lake.path(zone, rel)
        final.parent.mkdir(parents=True, exist_ok=True)
        if staged.is_file():
            os.replace(staged, final)
            return
        versions = self.lake.path(zone, VERSIONS, rel)
        version = versions / self.folder.name
        if staged.is_dir():
            if (staged / MERGE).exists():
                _carry_over(final, staged)
            versions.mkdir(parents=True, exist_ok=True)
            os.replace(staged, version)
        if not version.is_dir():
            return
        if final.is_dir() and not final.is_symlink():
            os.replace(final, versions / "legacy")
        link = final.with_name(f".{final.name}.link")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.path.relpath(version, final.parent), target_is_directory=True)
        os.replace(link, final)
        for old in versions.iterdir():
            if old != version:
                shutil.rmtree(old, ignore_errors=True)


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
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
    (staged / MERGE).unlink()
