"""Which students a grading run covers: the submission folders, `--shard I/N` and `--only`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class RosterError(Exception):
    """The submissions cannot be listed as asked; the message names the folder or name and the fix."""


@dataclass(frozen=True)
class Entry:
    """One student's submission: a folder, or a .zip of one folder (unpacked when graded)."""

    name: str
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based, as GitLab's CI_NODE_INDEX) of `total`."""

    index: int
    total: int

    def includes(self, student: str) -> bool:
        # By a hash of the name, not by position: adding or removing a student moves no one else.
        digest = hashlib.sha256(student.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.total == self.index - 1


ALL = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    index, _, total = text.partition("/")
    if not (index.isdigit() and total.isdigit()) or not 1 <= int(index) <= int(total):
        raise RosterError(f"--shard {text}: write I/N with 1 <= I <= N, e.g. --shard 2/4")
    return Shard(int(index), int(total))


def find_submissions(folder: Path) -> list[Entry]:
    """Every student folder and .zip in `folder`, by name; other files (a README) are not submissions."""
    if not folder.is_dir():
        raise RosterError(f"{folder}: no such folder; pass the folder that holds one folder (or .zip) per student")
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        raise RosterError(f"{folder}: cannot read it ({exc.strerror}); check its permissions") from None
    entries: dict[str, Entry] = {}
    for child in children:
        # Hidden entries and macOS resource forks are never a student's work.
        if child.name.startswith(".") or child.name == "__MACOSX":
            continue
        if child.is_dir():
            entry = Entry(child.name, child)
        elif child.is_file() and child.suffix.lower() == ".zip":
            entry = Entry(child.stem, child)
        else:
            continue
        if entry.name in entries:
            raise RosterError(f"{folder}: two submissions for {entry.name!r} ({entries[entry.name].path.name} and "
                              f"{child.name}); keep only one of them")
        entries[entry.name] = entry
    return sorted(entries.values(), key=lambda e: (e.name.casefold(), e.name))


def select(entries: Iterable[Entry], shard: Shard = ALL, only: Iterable[str] = ()) -> tuple[list[Entry], list[Entry]]:
    """(the students of this shard, the ones of them to grade now: all of them, or those named by --only)."""
    in_shard = [e for e in entries if shard.includes(e.name)]
    wanted = set(only)
    if not wanted:
        return in_shard, in_shard
    unknown = sorted(wanted - {e.name for e in in_shard})
    if unknown:
        where = "in this shard" if shard != ALL else "in the submissions folder"
        raise RosterError(f"--only {unknown[0]}: no such submission {where}; use a folder name (or .zip name "
                          "without .zip)")
    return in_shard, [e for e in in_shard if e.name in wanted]
