"""CPU time, read from the kernel's counters: the whole machine's, and this process's waited-for children's."""

from __future__ import annotations

import resource
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
