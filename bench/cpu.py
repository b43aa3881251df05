"""CPU time, read from the kernel's counters: the whole machine's, and this process's waited-for children's."""

from __future__ import annotations

import resource

import psutil


def busy_cpu_seconds() -> float:
    """Busy time of all cores since boot: every process, Docker's and the kernel's included."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def children_cpu_seconds() -> float:
    """CPU time of the children this process has waited for, and of everything they waited for in turn."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
