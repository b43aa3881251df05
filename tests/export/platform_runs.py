"""Helpers of the platform tests: a bundle exported through the CLI, a scratch root laid out as the platform
lays out its own, and the platform's entry point run there.

The grader that runs is the bundle's own copy (PYTHONPATH points at it), with this
virtualenv's Python standing in for the one the platform's set-up installs. Roots live in
a folder every user may enter, as /autograder and /grade are, so that what keeps student
programs out of the results is the results folder itself, not a closed door on the way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
GRADER = Path(sys.executable).parent / "grader"
ASSIGNMENT = load_assignment("uppercase")
RUN_LIMIT = 600  # seconds: one grading takes 20 to 60 s on this shared 2-core machine


def export(platform: str, out: Path) -> None:
    proc = subprocess.run(
        [str(GRADER), "export", platform, "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@contextmanager
def open_root(prefix: str) -> Iterator[Path]:
    """A scratch root in /tmp that every user may enter and list, removed after."""
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        root.chmod(0o755)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def copy_submission(files: dict[str, str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")


def reference_files(without: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(REFERENCE.glob("*.py"))
        if path.stem not in without
    }


def unzip(archive: Path, target: Path) -> None:
    """As Gradescope unpacks autograder.zip into /autograder/source: modes from the archive kept."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = target / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zipped.read(info))
            path.chmod((info.external_attr >> 16) & 0o777)


def environment(bundle_source: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SOCKETLAB_PYTHON": sys.executable,
        "PYTHONPATH": str(bundle_source),
        "SOCKETLAB_STUDENT_USER": "nobody",
        **extra,
    }


def in_own_network(command: list[str]) -> list[str]:
    """`command` in a network namespace of its own, with nothing but a loopback that is up.

    Local mode serves on this machine's port 12000, which other gradings on a shared
    machine use too; a namespace of its own gives each run its own. It is also what a
    platform with networking off leaves a container (PrairieLearn's default).
    """
    return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]


def can_isolate() -> bool:
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("unshare", "ip"))


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a platform's entry point, in a network of its own where this machine allows it."""
    return subprocess.run(
        in_own_network(command) if can_isolate() else command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        stdin=subprocess.DEVNULL,
    )


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def points_of(role: str) -> float:
    return sum(c.points for c in ASSIGNMENT.checks if c.required and c.id.startswith(f"{role}."))
