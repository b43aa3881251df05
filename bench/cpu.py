"""CPU time, read from the kernel's counters: the whole machine's, and this process's waited-for children's."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

import psutil


def busy_cpu_seconds() -> float:
    """Busy time of all cores since boot: every process, Docker's and the kernel's included."""
    return busy_of(psutil.cpu_times())


def busy_of(times: Any) -> float:
    """Busy seconds in psutil's reading of /proc/stat's first line.

    Everything but idle and iowait (a core waiting for the disk is a core doing nothing). The
    kernel already counts guest time in user and guest_nice in nice, and psutil lists them
    again as fields of their own, so they are taken out once: a machine running a VM would
    otherwise count its guests twice.
    """
    idle = times.idle + getattr(times, "iowait", 0.0)
    counted_twice = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return sum(times) - idle - counted_twice


def children_cpu_seconds() -> float:
    """CPU time of the children this process has waited for, and of everything they waited for in turn."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PR_SET_CHILD_SUBREAPER = 36
ORPHAN_WAIT = 15.0  # seconds for the processes a child left (a fork server ending after it) to end


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """While inside, processes our children leave behind become ours (Linux), and are reaped on the way out.

    A child's CPU time reaches RUSAGE_CHILDREN only once someone waits for it. The grader's
    fork server ends after the grader itself, and with it the CPU time of every pytest
    process it forked; as the subreaper, this process waits for it, so that time is counted.
    """
    libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
    ours = {child.pid for child in psutil.Process().children()}  # not to be waited for here
    if libc is not None:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        if libc is not None:
            deadline = time.monotonic() + ORPHAN_WAIT
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break  # none left
                if pid == 0:
                    if all(child.pid in ours for child in psutil.Process().children()):
                        break
                    time.sleep(0.05)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
