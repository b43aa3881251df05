"""When a starting server counts as started, or as too slow: a rule on what the program did. Pure code.

The rule, the same on a quiet machine and a busy one (README, "Time limits"):

- A server must bind a socket of its transport before it has used `cpu` seconds of its own
  CPU time (the assignment's `startup`), and within `wall` seconds on the clock, a ceiling
  for programs that sleep or wait instead of binding. Waiting for a CPU on a busy machine
  uses neither the program's CPU nor, within the ceiling, its chance.
- Once bound, it counts as started when it waits for input (no thread of it running, in
  two looks in a row) or, if it keeps busy, once it has used `settle_cpu` more seconds of
  CPU and is still alive. So a program that binds and then dies at once (say, by using up
  its memory) never counts as listening, whether or not a look happened to fall between
  the bind and the death.
- Where the program's usage cannot be read, the clock decides: bound and alive
  `settle_wall` seconds later is started, and `cpu` seconds on the clock is too slow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from grader.sandbox.usage import CLOCK_CEILING, Usage

IDLE_LOOKS = 2


class Decision(enum.Enum):
    WAIT = "wait"
    STARTED = "started"
    CPU_LIMIT = "cpu limit"  # used its CPU allowance without binding
    WALL_LIMIT = "wall limit"  # the clock's ceiling came before a bind


@dataclass(frozen=True)
class StartupLimits:
    cpu: float
    wall: float
    settle_cpu: float = 0.5
    settle_wall: float = 0.2

    @classmethod
    def for_startup(cls, startup: float) -> StartupLimits:
        return cls(cpu=startup, wall=CLOCK_CEILING * startup)


@dataclass
class StartupWatch:
    """Fed one look at a time (seconds since the start, usage or None, whether a socket is bound)."""

    limits: StartupLimits
    _bound_at: float | None = None
    _cpu_at_bind: float = 0.0
    _idle_looks: int = 0
    last_usage: Usage | None = None

    def observe(self, elapsed: float, usage: Usage | None, bound: bool) -> Decision:
        self.last_usage = usage or self.last_usage
        if not bound:
            if usage is not None and usage.cpu_seconds >= self.limits.cpu:
                return Decision.CPU_LIMIT
            if elapsed >= (self.limits.wall if usage is not None else self.limits.cpu):
                return Decision.WALL_LIMIT
            return Decision.WAIT
        if self._bound_at is None:
            self._bound_at = elapsed
            self._cpu_at_bind = usage.cpu_seconds if usage is not None else 0.0
        if usage is None:
            return Decision.STARTED if elapsed - self._bound_at >= self.limits.settle_wall else Decision.WAIT
        self._idle_looks = 0 if usage.busy else self._idle_looks + 1
        if self._idle_looks >= IDLE_LOOKS or usage.cpu_seconds - self._cpu_at_bind >= self.limits.settle_cpu:
            return Decision.STARTED
        # Bound, alive and busy at the clock's ceiling (a machine too busy to give it the
        # settling CPU): it is listening, and a later check sees whatever it does next.
        return Decision.STARTED if elapsed >= self.limits.wall else Decision.WAIT

    @property
    def bound(self) -> bool:
        return self._bound_at is not None

    @property
    def cpu_used(self) -> float | None:
        return None if self.last_usage is None else self.last_usage.cpu_seconds
