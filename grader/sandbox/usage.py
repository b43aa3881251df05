"""What a running program has done so far: its own CPU time, and whether it is doing something now.

Timed verdicts count these, not the clock: on a busy machine a program waits for a CPU
without using one, and that wait is the machine's, not the student's (DESIGN.md, principle 8).
A container's programs are the processes of its cgroup, read from the host; local programs
are a process and its children.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Thread states of /proc/<pid>/task/<tid>/stat that mean "on a CPU or wanting one", or in an
# uninterruptible wait (a page fault, a disk write): doing something, not waiting for input.
_BUSY_STATES = frozenset("RD")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, of every process of the program since it started
    busy: bool  # some thread of it runs, wants to, or is in an uninterruptible wait


class CgroupUsage:
    """The usage of the processes in one container's cgroup (v1 `cpuacct` or v2), found from one of its PIDs."""

    def __init__(self, directory: Path, cpu_file: str):
        self._directory = directory
        self._cpu_file = cpu_file

    @classmethod
    def of(cls, pid: int, root: Path = CGROUP_ROOT) -> CgroupUsage | None:
        """None where the cgroup cannot be read (another layout, no permission): then callers time on the clock."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, path = line.split(":", 2)
            relative = path.lstrip("/")
            if "cpuacct" in controllers.split(","):
                for mount in (controllers, "cpuacct", "cpu,cpuacct"):
                    candidate = root / mount / relative
                    if (candidate / "cpuacct.usage").is_file():
                        return cls(candidate, "cpuacct.usage")
            elif controllers == "" and (root / relative / "cpu.stat").is_file():
                return cls(root / relative, "cpu.stat")
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
        return Usage(cpu, any(_busy(int(pid)) for pid in pids))


def _busy(pid: int) -> bool:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] in _BUSY_STATES:
            return True
    return False


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
