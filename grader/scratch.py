"""Temporary folders of a grading, named after the process that owns them, so a sweep can find orphans.

A grader killed with SIGKILL cannot run its `finally`; its folders are then removed by the
next run's start-up sweep or by `grader clean`, exactly like its containers.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "socketlab-"
_OWNED = re.compile(rf"{PREFIX}(\d+)-")


def scratch_dir(purpose: str) -> tempfile.TemporaryDirectory:
    """A temporary folder removed when the `with` ends; its name carries our PID for the sweep."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-{purpose}-")


def sweep_scratch(everything: bool = False, root: Path | None = None) -> int:
    """Remove the scratch folders of processes that are gone (all of them with `everything`)."""
    removed = 0
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = _OWNED.match(path.name)
        if owner is None or not path.is_dir() or (not everything and process_alive(int(owner[1]))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


def process_alive(pid: int) -> bool:
    """Whether a grader process still runs on this host (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
