"""The small values that flow through the grader: discover -> sandbox -> scenario -> result."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Role(str, enum.Enum):
    UDP_SERVER = "udp_server"
    UDP_CLIENT = "udp_client"
    TCP_SERVER = "tcp_server"
    TCP_CLIENT = "tcp_client"

    @property
    def transport(self) -> str:
        return self.value.split("_")[0]

    @property
    def is_server(self) -> bool:
        return self.value.endswith("_server")


@dataclass(frozen=True)
class Program:
    """How to run one role of a submission; `command` runs with the submission folder as cwd."""

    role: Role
    command: tuple[str, ...]
    source: Path | None = None  # the file it was found in, relative to the submission
    found_by: str = ""  # why discovery picked it, shown to students ("file name", "grader.toml")


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path
    programs: dict[Role, Program] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # discovery remarks (ambiguities, ignored files)


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    MISSING = "missing"  # the role this check needs was not found in the submission
    ERROR = "error"  # the grader itself could not run the check


@dataclass(frozen=True)
class CheckSpec:
    """One check of an assignment, as its TOML declares it."""

    id: str  # "<role>.<name>", e.g. "udp_server.reordered"
    role: Role
    kind: str  # a built-in scenario kind
    points: float
    required: bool
    description: str = ""
    params: Any = None  # the kind's frozen params dataclass, validated by grader.spec


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    status: Status
    points: float
    max_points: float
    summary: str  # one line a student can act on
    evidence: tuple[str, ...] = ()  # what was sent, what came back, timing, seed, output tail
    hint: str | None = None
    duration: float = 0.0
    timed: bool = False  # a failure that a time limit decided (a reply not in time, a start-up too slow)
    varied: bool = False  # run twice to confirm a failure, the second run passed

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED


@dataclass(frozen=True)
class Deadline:
    """When a phase of the grading runs out, on the monotonic clock, named so a timeout can say which.

    Phases nest (a check inside its submission); the engine hands the earliest one down to
    every wait, so no wait outlives the phase it belongs to.
    """

    phase: str  # "check" or "submission"
    limit: float  # seconds the phase was given
    at: float  # time.monotonic() when it runs out

    @classmethod
    def after(cls, phase: str, limit: float, now: float | None = None) -> Deadline:
        return cls(phase, limit, (time.monotonic() if now is None else now) + limit)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.at - (time.monotonic() if now is None else now))

    def expired(self, now: float | None = None) -> bool:
        return self.remaining(now) <= 0.0

    def describe(self) -> str:
        return f"the {self.phase} time limit ({self.limit:g} s)"

    @staticmethod
    def earliest(first: Deadline, *others: Deadline) -> Deadline:
        return min((first, *others), key=lambda d: d.at)
