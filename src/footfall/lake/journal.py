"""The publish journal: how a run's staged outputs replace the published ones all at once, and how the
next run finishes or rolls back a publish that a killed run left journaled (see :mod:`footfall.lake.local`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footfall.errors import LakeError, os_reason
from footfall.lake.layout import STAGING, lake_path, write_json
from footfall.spec import PUBLISHED, ZONES, output_path

VERSIONS = "_versions"
JOURNAL = "PUBLISH"
PREVIOUS = "_previous"
MERGE = "_MERGE"


@dataclass(frozen=True)
class Notice:
    """What recovery did to a run's leftovers, in one line."""

    run_id: str
    message: str


class RolledBack(LakeError):
    """A publish could not be completed; the outputs it had replaced were put back."""


@dataclass(frozen=True)
class LocalStaging:
    """One run's private copy of everything it will publish into the local lake at ``root``."""

    root: Path
    folder: Path

    @property
    def run_id(self) -> str:
        return self.folder.name

    def path(self, zone: str, relpath: str) -> Path:
        final = lake_path(self.root, zone, relpath)
        staged = self.folder / final.relative_to(self.root)
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
                             path=self.root) from None
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
            final = lake_path(self.root, zone, rel)
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
        write_json(self.folder / JOURNAL, {"version": 2, "entries": entries})
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
        final = lake_path(self.root, zone, rel)
        if entry["kind"] == "file":
            if staged.is_file() and not staged.is_symlink():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, final)
            elif not _moved(entry, final):
                raise LakeError(f"the staged {zone}/{rel} is missing")
            return
        versions = lake_path(self.root, zone, VERSIONS, rel)
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
        marker = self.root / PUBLISHED
        tmp = marker.with_name(marker.name + ".tmp")
        tmp.write_text(self.folder.name)
        os.replace(tmp, marker)
        (self.folder / JOURNAL).unlink()
        for entry in entries:
            if entry["kind"] == "dir":
                versions = lake_path(self.root, entry["zone"], VERSIONS, entry["rel"])
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
        final = lake_path(self.root, entry["zone"], entry["rel"])
        backup = self.folder / PREVIOUS / entry["zone"] / entry["rel"]
        version = lake_path(self.root, entry["zone"], VERSIONS, entry["rel"], self.folder.name)
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
        return f"{os_reason(error)}{where}"
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


def finish_publishes(root: Path) -> list[Notice]:
    """Finish or roll back every journaled publish in the lake at ``root``; drop staging that has no journal."""
    notices: list[Notice] = []
    base = root / STAGING
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if not folder.is_dir() or folder.is_symlink():
            folder.unlink(missing_ok=True)
        elif (folder / JOURNAL).exists():
            try:
                LocalStaging(root, folder).publish()
            except RolledBack as e:
                notices.append(Notice(folder.name, e.message))
            else:
                notices.append(Notice(folder.name, "finished publishing the outputs of an interrupted run"))
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return notices

