"""One student's grading in a pytest process of its own: started, watched, and stopped as a group.

A process per student keeps one student's disaster (a hung check, a crashed grader) from
touching the others, and it is exactly what a student runs: `pytest grader/ --submission`.

A class run pays pytest's start-up (its imports and the grader's: most of a second of CPU)
once, not once per student: the pytest command of `pytest_command` runs in a process forked
from multiprocessing's fork server, which imported pytest and the grader and never grades
anything itself, so each student's process starts as clean as a new interpreter would.
"""

from __future__ import annotations

import ctypes
import functools
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


PYTEST_PREFIX = ["-P", "-m", "pytest"]  # after the interpreter: how pytest_command starts
# What the fork server imports once; "__main__" (the grader's command) too, or each child would run it again.
PRELOADED = ["__main__", "pytest", "grader.plugin", "grader.runner"]


class _Child(Protocol):
    pid: int

    def ended(self, timeout: float) -> bool: ...

    def status(self) -> int | None: ...


class _Spawned:
    """A new interpreter (or any program): `argv` as given."""

    def __init__(self, argv: list[str], log: Path):
        with log.open("wb") as out:
            # Its own session: the terminal's Ctrl-C reaches only us, and we stop children in order.
            self._process = subprocess.Popen(
                argv,
                cwd=GRADER_DIR.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_interrupt_when_parent_dies,
            )
        self.pid = self._process.pid

    def ended(self, timeout: float) -> bool:
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def status(self) -> int | None:
        return self._process.returncode


class _Forked:
    """pytest, in a process forked from the fork server: what `python -P -m pytest ARGS` would run."""

    def __init__(self, args: list[str], log: Path):
        context = start_fork_server()  # started already where threads run: see start_fork_server
        self._process = context.Process(
            target=_pytest_in_fork, args=(args, str(log), str(GRADER_DIR.parent)), name="grader-pytest"
        )
        with _MULTIPROCESSING:
            self._process.start()
        assert self._process.pid is not None
        self.pid = self._process.pid

    def ended(self, timeout: float) -> bool:
        multiprocessing.connection.wait([self._process.sentinel], timeout)
        return self.status() is not None

    def status(self) -> int | None:
        with _MULTIPROCESSING:
            return self._process.exitcode


# multiprocessing's bookkeeping of its children is not thread-safe: starting one polls the
# others, and two threads reading one child's status from its pipe could leave one with 255.
_MULTIPROCESSING = threading.Lock()


@functools.cache
def start_fork_server() -> multiprocessing.context.ForkServerContext:
    """multiprocessing's fork server (one per grader process), importing pytest and the grader before it forks.

    It is started from the folder that holds the grader package, whichever folder the grader
    was started from: the fork server puts its working folder on its module path (Python
    3.11 starts it without -P), and the instructor's could hold a submission. Call it from
    the main thread before any other starts (`grader grade` does), since it changes folder
    for a moment.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    started_in = os.getcwd()
    os.chdir(GRADER_DIR.parent)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        os.chdir(started_in)
    return context


def _pytest_in_fork(args: list[str], log: str, cwd: str) -> None:
    """The forked child: what a new `python -P -m pytest` process started by `_Spawned` would be, then pytest."""
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.close(nothing)
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # no new interpreter installs it here
    _interrupt_when_grader_ends()
    # -P: the folder the fork server started in is not where modules are found.
    sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", os.getcwd(), cwd)]
    os.chdir(cwd)

    import pytest

    sys.exit(pytest.main(args))


def _interrupt_when_grader_ends() -> None:
    """SIGINT to this process once the grader has ended, even by SIGKILL, as `_interrupt_when_parent_dies` does.

    The fork server, this process's parent, outlives the grader while any of its children
    lives, so the kernel's parent-death signal would never come. The grader holds the
    other end of a pipe multiprocessing gave this process (its parent's sentinel): it
    becomes readable when the grader ends.
    """
    grader = multiprocessing.parent_process()
    if grader is None:
        return

    def wait() -> None:
        multiprocessing.connection.wait([grader.sentinel])
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=wait, name="grader-watch", daemon=True).start()


def run_child(argv: list[str], log: Path, timeout: float, cancel: threading.Event) -> ChildRun:
    """Run `argv` from the folder that holds the grader package; stop it at `timeout` or when `cancel` is set.

    The grader's own pytest (`pytest_command`) is forked from the fork server; anything else is a new process.
    """
    forked = argv[0] == sys.executable and argv[1:4] == PYTEST_PREFIX
    child: _Child = _Forked(argv[4:], log) if forked else _Spawned(argv, log)
    deadline = time.monotonic() + timeout
    while True:
        if child.ended(POLL):
            return ChildRun(child.status())
        if cancel.is_set():
            return ChildRun(_stop(child), cancelled=True)
        if time.monotonic() >= deadline:
            return ChildRun(_stop(child), timed_out=True)


def _interrupt_when_parent_dies() -> None:
    """Linux: when its parent dies, even by SIGKILL, the kernel sends the child SIGINT.

    The child then tears its fixtures down and removes its containers, instead of grading
    on unsupervised beside the next run. (A forked child's parent is the fork server, which
    ends as soon as the grader does.) Elsewhere this is a no-op, and the next run's
    start-up sweep still removes what a dead run left.
    """
    # An ignored SIGINT (inherited from a shell's background job) would be ignored by the
    # child too, and it could never clean up: SIG_DFL lets its Python install the handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _stop(child: _Child) -> int | None:
    """SIGINT first: pytest then tears its fixtures down, and the sandbox removes its containers."""
    _signal_group(child.pid, signal.SIGINT)
    if child.ended(STOP_GRACE):
        return child.status()
    try:
        # Local-mode programs run in sessions of their own, out of reach of the group's signal.
        descendants = psutil.Process(child.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    _signal_group(child.pid, signal.SIGKILL)
    for descendant in descendants:
        try:
            descendant.kill()
        except psutil.Error:
            pass
    child.ended(STOP_GRACE)
    return None


def _signal_group(pgid: int, signum: int) -> None:
    """The child's whole group; the child alone while it has no group of its own yet (a fork not yet in its session)."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        try:
            os.kill(pgid, signum)
        except ProcessLookupError:
            pass


def exit_message(log: str) -> str | None:
    """The reason a child gave when it stopped itself (pytest.exit: an unreadable submission, no sandbox)."""
    found = _PYTEST_EXIT.findall(log)
    return found[-1] if found else None


def log_tail(log: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    return "\n".join(lines[-LOG_LINES:]) or "(no output)"
