"""Run fewer gradings at once while the machine is busy, so a class run never overloads what it times.

A grading times the student's programs; one that starts while every core is busy (other
gradings, other jobs of a shared runner) measures the machine, not the student. The rule
reads Linux's pressure stall information (`/proc/pressure/cpu` and `io`: the share of the
last 10 s in which some task waited for a CPU or for I/O), or, where the kernel has none,
the load average per core. Under pressure, a new grading starts only while fewer than half
of `--jobs` run (at least one always runs, so a class run never stalls), and none waits
more than the rule's `max_wait` seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PRESSURE = Path("/proc/pressure")


@dataclass(frozen=True)
class Pressure:
    cpu: float | None  # % of the last 10 s some task waited for a CPU; None without PSI
    io: float | None
    load_per_cpu: float

    def describe(self) -> str:
        if self.cpu is None:
            return f"load {self.load_per_cpu:.1f} per core"
        return f"CPU pressure {self.cpu:.0f} %, I/O pressure {self.io or 0:.0f} %"


def read_pressure(root: Path = PRESSURE) -> Pressure:
    return Pressure(_some_avg10(root / "cpu"), _some_avg10(root / "io"), os.getloadavg()[0] / (os.cpu_count() or 1))


def _some_avg10(path: Path) -> float | None:
    try:
        first = path.read_text().splitlines()[0]  # "some avg10=1.23 avg60=... total=..."
    except (OSError, IndexError):
        return None
    fields = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
    try:
        return float(fields["avg10"])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class HeadroomRule:
    cpu_limit: float = 60.0  # % CPU pressure above which no new grading starts
    io_limit: float = 60.0
    load_limit: float = 2.0  # runnable tasks per core, where there is no PSI
    max_wait: float = 60.0  # seconds one grading waits for room at most: a class run never stalls

    def has_headroom(self, pressure: Pressure) -> bool:
        if pressure.cpu is None:
            return pressure.load_per_cpu < self.load_limit
        return pressure.cpu < self.cpu_limit and (pressure.io is None or pressure.io < self.io_limit)


class Throttle:
    """A gate every grading passes before it starts; thread-safe, and it counts what it held back."""

    def __init__(
        self,
        rule: HeadroomRule | None = None,
        jobs: int = 1,
        read: Callable[[], Pressure] = read_pressure,
        poll: float = 1.0,
    ):
        self.rule = rule or HeadroomRule()
        self.pressured_jobs = max(1, jobs // 2)  # gradings at once while the machine is under pressure
        self._read = read
        self.poll = poll
        self._lock = threading.Lock()
        self._running = 0
        self.held = 0  # gradings that waited
        self.waited = 0.0  # seconds they waited, in all
        self.worst: Pressure | None = None  # the pressure that held one back, at its highest

    @contextmanager
    def slot(self, cancel: threading.Event) -> Iterator[None]:
        self._wait_for_room(cancel)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def _wait_for_room(self, cancel: threading.Event) -> None:
        started = time.monotonic()
        held = False
        while True:
            with self._lock:
                pressure = self._read() if self._running >= self.pressured_jobs else None
                if (
                    pressure is None
                    or self.rule.has_headroom(pressure)
                    or cancel.is_set()
                    or time.monotonic() - started >= self.rule.max_wait
                ):
                    self._running += 1
                    if held:
                        self.held += 1
                        self.waited += time.monotonic() - started
                    return
                held = True
                if self.worst is None or (pressure.cpu or pressure.load_per_cpu) > (
                    self.worst.cpu or self.worst.load_per_cpu
                ):
                    self.worst = pressure
            cancel.wait(self.poll)

    def describe(self) -> str | None:
        """One line for the class run's summary, or None when no grading waited."""
        if not self.held:
            return None
        worst = f" (at worst {self.worst.describe()})" if self.worst is not None else ""
        return (
            f"The machine was busy{worst}: {self.held} grading(s) waited {self.waited:.0f} s in all, "
            f"{self.pressured_jobs} at a time while it was, so that timed checks measure the programs, "
            "not the load."
        )
