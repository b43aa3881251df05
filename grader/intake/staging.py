"""From an LMS download to one folder per student, under the names the students gave their files.

`read_submissions` is what `grader grade` calls: a plain folder of student folders (or
zips) is graded where it is (grader.roster); an LMS download, detected or named by
`--layout`, has each student's latest files copied into a staging folder first, each
student's report then carrying their LMS identity and what intake chose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.discover import MAX_ZIP_BYTES, MAX_ZIP_FILES
from grader.intake.download import Download, DownloadError, open_download
from grader.intake.layouts import FOLDERS, LAYOUTS, detect
from grader.intake.model import Identity, Member, StudentFiles
from grader.names import report_key, shown
from grader.roster import Entry, find_submissions

MAX_PART_BYTES = 200  # of one file name: the file systems' limit is 255


@dataclass(frozen=True)
class Intake:
    layout: str
    entries: list[Entry]
    notes: list[str]  # about the download as a whole (links never read, files no student owns)


def read_submissions(path: Path, layout: str, staging: Path) -> Intake:
    """Every student of the download at `path`; `layout` is "auto", "folders" or one of LAYOUTS."""
    if layout in ("auto", FOLDERS) and path.is_dir():
        if layout == FOLDERS or not _looks_like_lms(path):
            return Intake(FOLDERS, find_submissions(path), [])
    with open_download(path) as download:
        if layout == "auto":
            chosen, parsed = detect(download.paths, download.name, download.read_text) or (FOLDERS, None)
        elif layout == FOLDERS:
            chosen, parsed = FOLDERS, None
        else:
            chosen, parsed = layout, LAYOUTS[layout](download.paths, download.name, download.read_text)
            if parsed is None:
                raise DownloadError(
                    f"{path}: no file is named as a {layout} download names them; "
                    "check --layout (or leave it out to detect the layout)"
                )
        students = _folders(download.paths) if parsed is None else parsed.students
        entries = _stage(download, students, staging)
        notes = [f"{shown(p)}: not a regular file, never read" for p in download.skipped]
        stray = [
            p
            for p in download.paths
            if parsed is not None and p not in parsed.recognised and not _hidden(PurePosixPath(p)) and p != "index.html"
        ]
        if stray:
            notes.append(f"{len(stray)} file(s) belong to no student and were left out, e.g. {shown(stray[0])}")
        return Intake(chosen, entries, notes)


def _looks_like_lms(folder: Path) -> bool:
    """Whether a folder is worth listing whole: a folder of student folders is graded in place, unread."""
    try:
        with open_download(folder) as download:
            return detect(download.paths, download.name, download.read_text) is not None
    except DownloadError:
        return False  # too big to be one assignment's download: the students' folders, each bounded itself


def _folders(paths: list[str]) -> list[StudentFiles]:
    """A zip of one folder (or .zip) per student, as grader.roster reads a folder."""
    members: dict[str, list[Member]] = {}
    for path in paths:
        top, _, below = path.partition("/")
        if below:
            members.setdefault(top, []).append(Member(PurePosixPath(path), PurePosixPath(below)))
        elif top.lower().endswith(".zip"):
            members.setdefault(top[:-4], []).append(Member(PurePosixPath(path), PurePosixPath(top)))
        # else: a README beside the students' folders
    return [StudentFiles(key, Identity(FOLDERS), tuple(found)) for key, found in members.items()]


def _stage(download: Download, students: list[StudentFiles], staging: Path) -> list[Entry]:
    entries: dict[str, Entry] = {}
    for student in sorted(students, key=lambda s: s.key):
        key = report_key(student.key)
        n = 1
        while key in entries:  # two students the LMS named alike: both graded, under two names
            n += 1
            key = report_key(f"{student.key} ({n})")
        folder = staging / key
        notes = [*student.notes, *_copy(download, student.members, folder)]
        files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
        # A student who handed in one .zip is graded as its contents, as a zip in a plain folder is.
        path = files[0] if len(files) == 1 and files[0].suffix.lower() == ".zip" else folder
        folder.mkdir(parents=True, exist_ok=True)
        identity = None if student.identity.layout == FOLDERS else student.identity
        entries[key] = Entry(key, path, student.key, identity, tuple(notes))
    return sorted(entries.values(), key=lambda e: (e.name.casefold(), e.name))


def _copy(download: Download, members: tuple[Member, ...], folder: Path) -> list[str]:
    """Copy a student's files under their original names, within the bounds of one submission."""
    notes: list[str] = []
    total = copied = 0
    for member in sorted(members, key=lambda m: str(m.original)):
        if _hidden(member.original):
            continue  # .git, .DS_Store, macOS resource forks: never the student's program
        size = download.size(str(member.source))
        if copied == MAX_ZIP_FILES or total + size > MAX_ZIP_BYTES:
            notes.append(
                f"stopped after {copied} files ({MAX_ZIP_FILES} files or "
                f"{MAX_ZIP_BYTES // 1024**2} MiB is the bound of one submission); hand in the sources only"
            )
            break
        target = folder.joinpath(*map(_safe_part, member.original.parts))
        if target.exists():
            notes.append(f"{shown(str(member.original))}: two files of this name; graded {shown(member.source.name)}")
        download.copy(str(member.source), target)
        total, copied = total + size, copied + 1
    return notes


def _hidden(path: PurePosixPath) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def _safe_part(part: str) -> str:
    """A file name as the student gave it, unless no file system could hold it (too long, '..')."""
    if part in ("", ".", ".."):
        return "_"
    encoded = part.encode("utf-8", "surrogateescape")
    if len(encoded) <= MAX_PART_BYTES:
        return part
    suffix = PurePosixPath(part).suffix[:16]
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    return encoded[: MAX_PART_BYTES - 30].decode("utf-8", "ignore") + f"~{digest}{suffix}"
