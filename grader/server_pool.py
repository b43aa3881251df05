"""The running servers of one pass of a grading: started on first use, kept, restarted after a crash.

A start failure stands for the rest of the pass (every later check of the role would wait
out the same limit), so one slow or broken start costs one wait, not one per check.
Start-up follows the rule of grader.startup: bound a socket of its transport, then waiting
for input, or busy and still alive.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from grader import diagnose
from grader.model import Cause, Deadline, Role, Submission
from grader.sandbox import RunningServer, Sandbox
from grader.scenarios.common import quoted_output
from grader.startup import Decision, StartupLimits, StartupWatch

POLL = 0.02  # seconds between looks at a starting server
OUTPUT_LINES = 12


@dataclass
class StartFailure:
    summary: str
    evidence: list[str]
    cause: Cause | None
    timed: bool = False  # a time limit decided it, not the program's exit


@dataclass
class ServerPool:
    sandbox: Sandbox
    submission: Submission
    port: int
    startup: float  # the assignment's start-up time limit
    stopping: threading.Event  # set when the grading closes: no wait goes on after it
    running: dict[Role, RunningServer] = field(default_factory=dict)
    failures: dict[Role, StartFailure] = field(default_factory=dict)

    def server(self, role: Role, deadline: Deadline) -> RunningServer | StartFailure:
        if role in self.failures:
            return self.failures[role]
        server = self.running.get(role)
        if server is not None and server.exit_info() is None:
            return server
        self.discard(role)  # it ended between checks: stopped, its container may serve the restart
        server = self.sandbox.start_server(self.submission.path, self.submission.programs[role], self.port)
        self.running[role] = server  # at once, so that stop_all() stops it even while it starts
        outcome = self._await_start(role, server, deadline)
        if isinstance(outcome, StartFailure):
            self.discard(role)
            # Even when a time limit cut the wait short: the next check's would be cut the same way.
            self.failures[role] = outcome
        return outcome

    def discard(self, role: Role) -> None:
        """Stop the role's server (it crashed, say); the next check of the role starts a new one."""
        server = self.running.pop(role, None)
        if server is not None:
            server.stop()

    def stop_all(self) -> None:
        for role in list(self.running):
            self.discard(role)

    def _await_start(self, role: Role, server: RunningServer, deadline: Deadline) -> RunningServer | StartFailure:
        limits = StartupLimits.for_startup(self.startup)
        watch = StartupWatch(limits)
        started = time.monotonic()
        ran = f"ran: {' '.join(self.submission.programs[role].command)}"
        decision = Decision.WAIT
        while not deadline.expired() and not self.stopping.is_set():
            exit_info = server.exit_info()
            if exit_info is not None:
                output = server.output_tail(OUTPUT_LINES)
                when = "after binding its socket, before it served anything" if watch.bound else "before listening"
                return StartFailure(
                    f"the program did not start: it {exit_info.reason} {when}",
                    [ran, quoted_output("program output", output, OUTPUT_LINES)],
                    diagnose.memory_cause(exit_info) or diagnose.program_error_cause(output),
                )
            sockets = server.bound_sockets()
            bound = sockets is None or any(s.transport == role.transport for s in sockets)
            decision = watch.observe(time.monotonic() - started, server.usage(), bound)
            if decision is Decision.STARTED:
                return server
            if decision is not Decision.WAIT:
                break
            time.sleep(POLL)
        output = server.output_tail(OUTPUT_LINES)
        return StartFailure(
            _not_listening(decision, role, limits, watch.cpu_used, deadline),
            [ran, quoted_output("program output", output, OUTPUT_LINES)],
            diagnose.program_error_cause(output)
            or Cause("bind-late", "bind the server socket right at start-up, before anything that waits or computes"),
            timed=True,
        )


def _not_listening(decision: Decision, role: Role, limits: StartupLimits, cpu: float | None, deadline: Deadline) -> str:
    transport = role.transport.upper()
    if decision is Decision.CPU_LIMIT:
        return (
            f"the program did not start listening: it used the start-up time limit "
            f"({limits.cpu:g} s of CPU time) without binding a {transport} socket"
        )
    if decision is Decision.WALL_LIMIT and cpu is not None:
        return (
            f"the program did not start listening: no {transport} socket bound within the start-up time "
            f"limit ({limits.wall:g} s on the clock; it used {cpu:.2f} s of its {limits.cpu:g} s of CPU "
            f"time, so it waited or slept)"
        )
    if decision is Decision.WALL_LIMIT:
        return (
            f"the program did not start listening: no {transport} socket bound within the start-up time "
            f"limit ({limits.cpu:g} s)"
        )
    return f"the program did not start listening: no {transport} socket bound within {deadline.describe()}"
