"""One student's grading in a pytest process of its own: started, watched, and stopped as a group.

A process per student keeps one student's disaster (a hung check, a crashed grader) from
touching the others, and it is exactly what a student runs: `pytest grader/ --submission`.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

import grader

GRADER_DIR = Path(grader.__file__).resolve().parent
POLL = 0.2  # seconds between looks at a running child and at the cancel flag
STOP_GRACE = 20.0  # seconds a stopped child gets to remove its containers before it is killed
LOG_LINES = 15  # lines of the child's output kept when it breaks

_PYTEST_EXIT = re.compile(r"^!+ _pytest\.outcomes\.Exit: (.*?) !+$", re.MULTILINE)


@dataclass(frozen=True)
class ChildRun:
    returncode: int | None  # None: it had to be killed
    timed_out: bool = False
    cancelled: bool = False


def pytest_command(
    submission: Path, junit: Path, student: str, assignment: Path, sandbox: str, seed: int, time_limit: float
) -> list[str]:
    """The grader's pytest, told exactly which configuration, plugin and paths are its own.

    No file of the submission may run here or configure pytest: `-P` keeps the working
    folder off `sys.path`, `-c` and `--rootdir` pin the grader's own ini file, `--noconftest`
    and `-p grader.plugin` keep conftests out, and every value is glued to its option with
    `=`, so none can be taken for a test path.
    """
    return [
        sys.executable,
        "-P",
        "-m",
        "pytest",
        str(GRADER_DIR),
        f"--config-file={GRADER_DIR / 'pytest.ini'}",
        f"--rootdir={GRADER_DIR}",
        "--noconftest",
        "-p",
        "grader.plugin",
        f"--submission={submission}",
        f"--assignment={assignment}",
        f"--sandbox={sandbox}",
        f"--seed={seed}",
        f"--time-limit={time_limit:g}",
        f"--client-runs={CLASS_CLIENT_RUNS}",
        f"--junitxml={junit}",
        "-o",
        f"junit_suite_name={student}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]


# A class run is bound by the machine's CPU, not by one student's waits: the runs of a client
# role one after another need one container for the role, not two.
CLASS_CLIENT_RUNS = 1

PR_SET_PDEATHSIG = 1


def run_child(argv: list[str], log: Path, timeout: float, cancel: threading.Event) -> ChildRun:
    """Run `argv` from the folder that holds the grader package; stop it at `timeout` or when `cancel` is set."""
    with log.open("wb") as out:
        # Its own session: the terminal's Ctrl-C reaches only us, and we stop children in order.
        process = subprocess.Popen(
            argv,
            cwd=GRADER_DIR.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_interrupt_when_parent_dies,
        )
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ChildRun(process.wait(timeout=POLL))
        except subprocess.TimeoutExpired:
            pass
        if cancel.is_set():
            return ChildRun(_stop(process), cancelled=True)
        if time.monotonic() >= deadline:
            return ChildRun(_stop(process), timed_out=True)


def _interrupt_when_parent_dies() -> None:
    """Linux: when the grader dies, even by SIGKILL, the kernel sends its child SIGINT.

    The child then tears its fixtures down and removes its containers, instead of grading
    on unsupervised beside the next run. Elsewhere this is a no-op, and the next run's
    start-up sweep still removes what a dead run left.
    """
    # An ignored SIGINT (inherited from a shell's background job) would be ignored by the
    # child too, and it could never clean up: SIG_DFL lets its Python install the handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _stop(process: subprocess.Popen) -> int | None:
    """SIGINT first: pytest then tears its fixtures down, and the sandbox removes its containers."""
    _signal_group(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        pass
    try:
        # Local-mode programs run in sessions of their own, out of reach of the group's signal.
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    _signal_group(process.pid, signal.SIGKILL)
    for child in descendants:
        try:
            child.kill()
        except psutil.Error:
            pass
    process.wait()
    return None


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def exit_message(log: str) -> str | None:
    """The reason a child gave when it stopped itself (pytest.exit: an unreadable submission, no sandbox)."""
    found = _PYTEST_EXIT.findall(log)
    return found[-1] if found else None


def log_tail(log: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    return "\n".join(lines[-LOG_LINES:]) or "(no output)"
