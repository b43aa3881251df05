"""The small values that flow through the grader: discover -> sandbox -> scenario -> result."""

from __future__ import annotations

import enum
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

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED
