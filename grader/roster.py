"""Which students a grading run covers: the submission folders, `--shard I/N` and `--only`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.intake.model import Identity
from grader.names import report_key, shown


class RosterError(Exception):
    """The submissions cannot be listed as asked; the message names the folder or name and the fix."""


@dataclass(frozen=True)
class Entry:
    """One student's submission: a folder, or a .zip of one folder (unpacked when graded)."""

    name: str  # the report key (grader.names.report_key): file names, JUnit, CSV, --only
    path: Path
    original: str = ""  # the name as found (it may hold any byte); shown escaped in the reports
    identity: Identity | None = None  # who the LMS says this is, when it came from an LMS download
    notes: tuple[str, ...] = ()  # what intake did on the way (the latest resubmission taken, ...)

    @property
    def is_zip(self) -> bool:
        return self.path.is_file()

    def properties(self) -> dict[str, str]:
        """What every report of this student carries about where the submission came from."""
        found = {"original_name": shown(self.original)} if self.original and self.original != self.name else {}
        if self.identity is not None:
            found.update(self.identity.properties())
        if self.notes:
            found["intake_notes"] = json.dumps(list(self.notes), ensure_ascii=False)
        return found


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
            stem = child.name
        elif child.is_file() and child.suffix.lower() == ".zip":
            stem = child.stem
        else:
            continue
        key, notes = report_key(stem), tuple[str, ...]()
        if key in entries:
            # A folder and a zip of one name: both are graded, under two names, and both say so.
            key = _free_key(entries, child.name)
            notes = (
                f"{shown(child.name)} and {shown(entries[report_key(stem)].path.name)} are both in the "
                "submissions folder: each is graded under its own name; keep one of them",
            )
        entries[key] = Entry(key, child, stem, notes=notes)
    return sorted(entries.values(), key=lambda e: (e.name.casefold(), e.name))


def _lms_names(identity: Identity) -> set[str]:
    return {identity.id, identity.name, identity.login} - {""}


def _free_key(taken: dict[str, Entry], name: str) -> str:
    key, n = report_key(name), 1
    while key in taken:
        n += 1
        key = report_key(f"{name} ({n})")
    return key


def select(entries: Iterable[Entry], shard: Shard = ALL, only: Iterable[str] = ()) -> tuple[list[Entry], list[Entry]]:
    """(the students of this shard, the ones of them to grade now: all of them, or those named by --only)."""
    in_shard = [e for e in entries if shard.includes(e.name)]
    wanted = set(only)
    if not wanted:
        return in_shard, in_shard
    # A student is named by their report key or by the name as found (an LMS login, a folder name).
    names = {e.name: {e.name, e.original} | (_lms_names(e.identity) if e.identity else set()) for e in in_shard}
    unknown = sorted(wanted - set().union(*names.values())) if names else sorted(wanted)
    if unknown:
        where = "in this shard" if shard != ALL else "in the submissions folder"
        raise RosterError(
            f"--only {shown(unknown[0])}: no such submission {where}; use a folder name (or .zip name "
            "without .zip), or the student's name as the summary table shows it"
        )
    return in_shard, [e for e in in_shard if names[e.name] & wanted]
