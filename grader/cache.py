"""Skip re-grading a submission when nothing that decides its grade has changed.

The key covers the submission's files, the assignment, the seed, where programs run and
the grader itself: change any of them and the student is graded again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import grader
from grader.runner import GRADER_DIR
from grader.spec import Assignment


def grader_fingerprint() -> str:
    """The version plus the grader's own sources: __version__ alone is not bumped for every fix of a check."""
    digest = hashlib.sha256(grader.__version__.encode())
    for path in sorted(GRADER_DIR.rglob("*")):
        if path.suffix in (".py", ".toml", ".ini") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(GRADER_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_digest(path: Path) -> str:
    """Every file's relative path and bytes (a .zip: its bytes); symlinks by their target text, never followed."""
    if path.is_file():
        return _file_sha256(path).hex()
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        # Python writes __pycache__ next to imported modules when a program runs in local mode.
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            file = Path(dirpath, name)
            if file.is_symlink():
                content = hashlib.sha256(os.fsencode(os.readlink(file))).digest()
            elif file.is_file():  # not a FIFO or device, which would block or never end
                content = _file_sha256(file)
            else:
                continue
            # fsencode: a name need not be UTF-8 (a git clone can hold any bytes).
            digest.update(os.fsencode(file.relative_to(path).as_posix()) + b"\0" + content)
    return digest.hexdigest()


def _file_sha256(path: Path) -> bytes:
    """Read in blocks: a 2 GB file costs a block of memory, not 2 GB."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").digest()


def assignment_digest(assignment: Assignment) -> str:
    """What the assignment asks, after `extends` is resolved: a base file's change counts, a comment does not."""
    meaning = (
        assignment.name,
        assignment.port,
        assignment.transform_name,
        assignment.seed,
        assignment.timeouts,
        assignment.checks,
    )
    return hashlib.sha256(repr(meaning).encode()).hexdigest()


def cache_key(submission: Path, assignment: Assignment, seed: int, environment: str, fingerprint: str) -> str:
    parts = (submission_digest(submission), assignment_digest(assignment), str(seed), environment, fingerprint)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Cache:
    """One key file per student in `<out>/cache/`, written only after its report is on disk."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _file(self, student: str) -> Path:
        return self.folder / f"{student}.key"

    def hit(self, student: str, key: str) -> bool:
        try:
            return self._file(student).read_text(encoding="ascii").strip() == key
        except OSError:
            return False

    def store(self, student: str, key: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._file(student).write_text(key + "\n", encoding="ascii")

    def forget(self, student: str) -> None:
        self._file(student).unlink(missing_ok=True)
