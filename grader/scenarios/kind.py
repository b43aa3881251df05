"""What a scenario kind is, and what it is given to run one check.

A kind is one module of grader.scenarios: its parameters (a frozen dataclass the spec
validates), its plan, machine and judge (pure), and `run`, which plays it against a
submission's program through what the engine hands it. The registry in
grader.scenarios lists every kind; the engine knows no kind by name.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from grader.model import CheckSpec, Deadline, Program, Role, Source, Submission
from grader.sandbox import RunningServer, Sandbox
from grader.sandbox.sockets import BoundSocket
from grader.scenarios.common import Transform, Verdict


def derive_seed(run_seed: int, *parts: object) -> int:
    """A seed of its own for each part of a run (a check, a client run), so reordering them changes nothing."""
    return zlib.crc32(":".join(map(str, (run_seed, *parts))).encode())


@dataclass(frozen=True)
class ServerCheck:
    """One check of a server role: its server is started, bound and running."""

    check: CheckSpec
    server: RunningServer
    sockets: list[BoundSocket]  # what it had bound when the check began
    port: int
    transform: Transform
    seed: int  # the check's own
    deadline: Deadline  # the earliest of the check's and the submission's
    source: Source  # the program's file, read before it ran: what its causes point at


@dataclass(frozen=True)
class ProgramCheck:
    """One check of a role the scenario runs itself (a client): the sandbox to run it in, and the runs so far."""

    check: CheckSpec
    program: Program
    submission: Submission
    sandbox: Sandbox
    port: int
    transform: Transform
    seed: int  # the run's own: checks that share a run share it
    deadline: Deadline
    budget: float  # the assignment's time for one run of the program
    source: Source  # the program's file, read before it ran: what its causes point at
    runs: dict[Hashable, Any] = field(default_factory=dict)  # runs shared by the checks of one lane, by lane key


@dataclass(frozen=True)
class Kind:
    """A scenario kind as a spec may use it: which roles, which parameters, how one check runs."""

    name: str
    roles: frozenset[Role]
    params: type  # a frozen dataclass whose fields are the allowed parameters
    run: Callable[[Any], Verdict]  # ServerCheck for server roles, ProgramCheck for the others
    lane: Callable[[Any], Hashable] | None = None  # params -> what checks share one program run (None: nothing)
    misfit: Callable[[Role, Any], tuple[str, str] | None] | None = None  # (problem, fix) of params for a role
