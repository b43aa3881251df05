"""What a running program has done so far: its own CPU time, and whether it is doing something now.

Timed verdicts count these, not the clock: on a busy machine a program waits for a CPU
without using one, and that wait is the machine's, not the student's (DESIGN.md, principle 8).
A container's programs are the processes of its cgroup, read from the host; local programs
are a process and its children.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Limits that count a program's own time still end on the clock at this many times the limit
# (a start-up that sleeps, a budget stretched by waits for a CPU), whatever the machine does.
CLOCK_CEILING = 4
POLL = 1.0  # seconds between looks at how long the program has waited
T = TypeVar("T")
# Thread states of /proc/<pid>/task/<tid>/stat that mean "on a CPU or wanting one", or in an
# uninterruptible wait (a page fault, a disk write): doing something, not waiting for input.
_BUSY_STATES = frozenset("RD")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, of every process of the program since it started
    busy: bool  # some thread of it runs, wants to, or is in an uninterruptible wait
    waited_seconds: float = 0.0  # the longest any living thread of it has waited, runnable, for a CPU


class CgroupUsage:
    """The usage of the processes in one container's cgroup (v1 `cpuacct` or v2), found from one of its PIDs."""

    def __init__(self, directory: Path, cpu_file: str, exclude: frozenset[int] = frozenset()):
        self._directory = directory
        self._cpu_file = cpu_file
        self._exclude = exclude  # the grader's own processes in it (a client container's launcher)

    def excluding(self, pids: frozenset[int]) -> CgroupUsage:
        """The same cgroup, whose busy and waiting threads leave `pids` out."""
        return CgroupUsage(self._directory, self._cpu_file, pids)

    @classmethod
    def of(cls, pid: int, root: Path = CGROUP_ROOT) -> CgroupUsage | None:
        """None where the cgroup cannot be read (another layout, no permission): then callers time on the clock."""
        found = _cgroup_file(pid, "cpuacct", "cpuacct.usage", "cpu.stat", root)
        return None if found is None else cls(found.parent, found.name)

    def pids(self) -> list[int] | None:
        """The processes in the cgroup; None once it is gone."""
        try:
            return [int(pid) for pid in (self._directory / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return None

    def read(self) -> Usage | None:
        try:
            raw = (self._directory / self._cpu_file).read_text()
            pids = (self._directory / "cgroup.procs").read_text().split()
        except OSError:
            return None  # the container is gone
        if self._cpu_file == "cpu.stat":
            fields = dict(line.split() for line in raw.splitlines() if line.strip())
            cpu = int(fields.get("usage_usec", 0)) / 1e6
        else:
            cpu = int(raw.strip() or 0) / 1e9
        busy, waited = False, 0.0
        for pid in pids:
            if int(pid) in self._exclude:
                continue
            task_busy, task_waited = _tasks(int(pid))
            busy, waited = busy or task_busy, max(waited, task_waited)
        return Usage(cpu, busy, waited)


def oom_kills(pid: int, root: Path = CGROUP_ROOT) -> int | None:
    """Processes the memory limit has killed so far in `pid`'s cgroup (v1 or v2); None where that cannot be read."""
    found = _cgroup_file(pid, "memory", "memory.oom_control", "memory.events", root)
    try:
        fields = dict(entry.split() for entry in found.read_text().splitlines() if entry.strip()) if found else {}
        return int(fields["oom_kill"])
    except (OSError, ValueError, KeyError):
        return None


def _cgroup_file(pid: int, controller: str, v1_file: str, v2_file: str, root: Path) -> Path | None:
    """`pid`'s cgroup file: `v1_file` in its `controller` hierarchy (v1), or `v2_file` (v2); None if neither."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controller in controllers.split(","):
            for mount in (controllers, controller, "cpu,cpuacct"):  # the last: cpu and cpuacct mounted together
                if (root / mount / relative / v1_file).is_file():
                    return root / mount / relative / v1_file
        elif controllers == "" and (root / relative / v2_file).is_file():
            return root / relative / v2_file
    return None


def _tasks(pid: int) -> tuple[bool, float]:
    """Whether a thread of `pid` is busy, and the longest run delay of its threads (schedstat), in seconds."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False, 0.0
    busy, waited = False, 0.0
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
            schedstat = (task / "schedstat").read_text().split()
        except OSError:
            continue
        busy = busy or stat[stat.rindex(")") + 2] in _BUSY_STATES
        if len(schedstat) >= 2:
            waited = max(waited, int(schedstat[1]) / 1e9)
    return busy, waited


def process_tree_usage(pid: int) -> Usage | None:
    """A local program: the process and its living children (a child that has ended is no longer counted)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    cpu, busy = 0.0, False
    for process in processes:
        try:
            times = process.cpu_times()
            cpu += times.user + times.system
            busy = busy or process.status() in (psutil.STATUS_RUNNING, psutil.STATUS_DISK_SLEEP)
        except psutil.Error:
            continue
    return Usage(cpu, busy)


def await_within_budget(
    budget: float,
    wait: Callable[[float], T | None],
    waited: Callable[[], float],
    clock: Callable[[], float] = time.monotonic,
) -> tuple[T | None, float]:
    """`wait(timeout)`'s first result, or None once the program has had `budget` seconds of its own.

    Its own seconds are the clock's less the longest time one of its threads waited,
    runnable, for a CPU (`waited()`, from schedstat): on a busy machine a program that would
    have finished in time is not stopped for the machine's slowness. The clock's ceiling,
    CLOCK_CEILING budgets, bounds the wait whatever the machine does. Returns the result
    and the seconds of waiting that were added.
    """
    started = clock()
    ceiling = started + CLOCK_CEILING * budget
    added = 0.0
    while True:
        added = max(added, waited())
        left = min(started + budget + added, ceiling) - clock()
        if left <= 0:
            return None, added
        result = wait(min(left, POLL))
        if result is not None:
            return result, added
