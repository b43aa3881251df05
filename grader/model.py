"""The small values that flow through the grader: discover -> sandbox -> scenario -> result."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
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
class Source:
    """A program's source file as the grader read it (bounded, never through a link): its name and its text."""

    name: str
    text: str


NO_SOURCE = Source("", "")


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path
    programs: dict[Role, Program] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # discovery remarks (ambiguities, ignored files)


@dataclass(frozen=True)
class ExitInfo:
    code: int | None
    oom_killed: bool = False

    @property
    def reason(self) -> str:
        if self.oom_killed:
            return "ran out of memory and was killed (the memory limit)"
        if self.code is None:
            return "still running"
        if self.code < 0 or self.code > 128:
            signal_no = -self.code if self.code < 0 else self.code - 128
            return f"was killed by signal {signal_no}"
        return f"exited with status {self.code}"


@dataclass(frozen=True)
class ProgramRun:
    """One run of a program to its end, as a sandbox reports it: its output and how it ended."""

    stdout: str
    stderr: str
    exit: ExitInfo | None  # None: still running when the budget ran out, so it was killed
    duration: float  # from the program's start, not from its container's creation
    budget: float
    waited: float = 0.0  # seconds of the run the program spent waiting for a CPU, added to its budget
    never_woke: str = ""  # why it was stopped before its budget: it was blocked forever (grader.sandbox.blocked)

    @property
    def hung(self) -> bool:
        return self.exit is None


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
class Cause:
    """Why a check failed, in words a student acts on; one cause behind many checks is told once."""

    key: str  # the kind of cause, stable across students ("loopback-bind"): what a class page counts
    text: str  # what is wrong and the fix, in plain words
    where: str | None = None  # the student's line it points at: "UDPServer.py line 7: serverSocket.bind(...)"


class Sender(str, enum.Enum):
    GRADER = "grader"  # the grader's scripted client or server
    PROGRAM = "program"  # the student's program


@dataclass(frozen=True)
class Step:
    """One arrow of an exchange's sequence diagram: a datagram, a piece of a stream, a connection event."""

    at: float  # seconds from the exchange's start
    sender: Sender
    text: str  # what it carried, as text (scenarios.common.show), or the event ("connect", "close")
    # What the impairment did to it: delivered, dropped, duplicated, held, delayed; also repeated (the
    # scripted server sent it again), failed (a connect or a write that failed), silent (a wait ran out).
    fate: str = "delivered"
    note: str = ""  # what the grader made of it: "attempt 2", "wrong reply", "no reply in 1 s"


MAX_STEPS = 200  # a diagram's arrows; a check of 1000 messages shows its first 200


@dataclass(frozen=True)
class CheckResult:
    """What one check found: made by the engine, carried through JUnit as one JSON line, read by every report."""

    check_id: str
    status: Status
    points: float
    max_points: float
    summary: str  # one line a student can act on
    evidence: tuple[str, ...] = ()  # what was sent, what came back, timing, seed, output tail
    cause: Cause | None = None
    duration: float = 0.0
    timed: bool = False  # a failure that a time limit decided (a reply not in time, a start-up too slow)
    varied: bool = False  # run twice to confirm a failure, the second run passed
    advisory: bool = False  # a check the assignment does not require: shown, costs no points
    steps: tuple[Step, ...] = ()  # the exchange as it happened, for its sequence diagram

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def to_json(self) -> str:
        """One line of ASCII: no byte of a program's output quoted in it can end the line."""
        fields = dataclasses.asdict(self)
        fields["status"] = self.status.value
        fields["steps"] = [{**step, "sender": step["sender"].value} for step in fields["steps"]]
        return json.dumps(fields, ensure_ascii=True, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CheckResult:
        """The inverse of `to_json`; ValueError for anything else, whoever wrote it."""
        try:
            fields = json.loads(text, parse_constant=_no_constant)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"not a check result: {exc}") from None
        _check_fields("top level", fields, _RESULT_TYPES)
        if not all(isinstance(line, str) for line in fields["evidence"]):
            raise ValueError("not a check result: evidence holds more than text")
        try:
            status = Status(fields["status"])
        except ValueError:
            raise ValueError(f"not a check result: status {fields['status']!r}") from None
        cause = fields["cause"]
        if cause is not None:
            _check_fields("cause", cause, _CAUSE_TYPES)
        if len(fields["steps"]) > MAX_STEPS:
            raise ValueError(f"not a check result: more than {MAX_STEPS} steps")
        steps = []
        for step in fields["steps"]:
            _check_fields("step", step, _STEP_TYPES)
            try:
                sender = Sender(step["sender"])
            except ValueError:
                raise ValueError(f"not a check result: a step's sender is {step['sender']!r}") from None
            steps.append(Step(_seconds(step["at"], "at"), sender, step["text"], step["fate"], step["note"]))
        points, max_points = _seconds(fields["points"], "points"), _seconds(fields["max_points"], "max_points")
        if points > max_points:
            raise ValueError("not a check result: more points than the check is worth")
        return cls(
            **{
                **fields,
                "status": status,
                "evidence": tuple(fields["evidence"]),
                "cause": None if cause is None else Cause(**cause),
                "steps": tuple(steps),
                "points": points,
                "max_points": max_points,
                "duration": _seconds(fields["duration"], "duration"),
            }
        )


def _seconds(value: int | float, name: str) -> float:
    """A finite number, not negative: points and times (an int too large for a float is refused, not raised)."""
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"not a check result: {name} is out of range") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"not a check result: {name} is {number}")
    return number


def _no_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not a number of points", name, 0)


def _check_fields(what: str, fields: object, types: dict[str, type | tuple[type, ...]]) -> None:
    """Exactly these fields, each of its type; a bool is never taken for a number."""
    if not isinstance(fields, dict) or set(fields) != set(types):
        raise ValueError(f"not a check result: wrong fields in its {what}")
    for name, kind in types.items():
        value = fields[name]
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise ValueError(f"not a check result: {name} of its {what} is not {kind}")


_RESULT_TYPES: dict[str, type | tuple[type, ...]] = {
    "check_id": str,
    "status": str,
    "points": (int, float),
    "max_points": (int, float),
    "summary": str,
    "evidence": list,
    "cause": (dict, type(None)),
    "duration": (int, float),
    "timed": bool,
    "varied": bool,
    "advisory": bool,
    "steps": list,
}
_CAUSE_TYPES: dict[str, type | tuple[type, ...]] = {"key": str, "text": str, "where": (str, type(None))}
_STEP_TYPES: dict[str, type | tuple[type, ...]] = {
    "at": (int, float),
    "sender": str,
    "text": str,
    "fate": str,
    "note": str,
}
assert set(_RESULT_TYPES) == {f.name for f in dataclasses.fields(CheckResult)}


@dataclass(frozen=True)
class StudentReport:
    """One student's grading as the gradebook holds it: read back from the student's JUnit suite."""

    student: str
    score: float
    max_score: float
    properties: dict[str, str] = field(default_factory=dict)
    checks: tuple[CheckResult, ...] = ()
    grader_error: str | None = None  # set when the submission could not be graded at all

    @property
    def percent(self) -> float | None:
        return 100 * self.score / self.max_score if self.max_score else None

    @property
    def check_ids(self) -> list[str]:
        """The checks of its assignment; a grader error's suite lists them in its `checks` property."""
        return [c.check_id for c in self.checks] or self.properties.get("checks", "").split()

    @property
    def varied(self) -> list[str]:
        """Checks that failed once and passed when run again alone: the machine, or a program that varies."""
        return self.properties.get("varied", "").split()

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and not c.advisory]

    @property
    def advisories(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.advisory]


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
