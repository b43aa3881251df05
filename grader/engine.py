"""Runs the checks of one assignment against one submission: lanes, passes and the grading loop.

The engine knows no scenario kind: each check runs through its kind in the registry
(grader.scenarios.KINDS). What it owns is order and time: which checks run side by side,
the time limits that nest around them, the running servers of each pass (grader.server_pool),
and the confirmation of a failure that rests on a time limit before it costs points.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from grader import diagnose, model
from grader.discover import how_roles_are_found, source_of
from grader.model import NO_SOURCE, Cause, CheckResult, CheckSpec, Deadline, ExitInfo, Role, Source, Status, Submission
from grader.sandbox import RunningServer, Sandbox, SandboxError
from grader.scenarios import KINDS
from grader.scenarios.common import Verdict, quoted_output
from grader.scenarios.kind import Kind, ProgramCheck, ServerCheck, derive_seed
from grader.server_pool import OUTPUT_LINES, POLL, ServerPool, StartFailure
from grader.spec import Assignment

CRASH_GRACE = 0.3  # a crashing server closes its sockets a moment before it is reported as exited


def check_seed(run_seed: int, check: CheckSpec) -> int:
    """Each check gets its own seed, derived from the run's, so reordering checks changes nothing."""
    return derive_seed(run_seed, check.id)


# Runs of one client role at once. Each needs a container of its own while it runs; one
# container serves a role's runs one after another (grader.sandbox.client_container), so
# two keep a role to two containers while its slowest run (a client waiting out its own
# timeouts) overlaps the others.
CLIENT_RUNS_AT_ONCE = 2


def lanes(
    checks: Sequence[CheckSpec],
    found: set[Role],
    kinds: dict[str, Kind] = KINDS,
    runs_at_once: int = CLIENT_RUNS_AT_ONCE,
) -> list[list[CheckSpec]]:
    """Checks that share something stay in order in one lane; lanes share nothing.

    A server role's checks share its running server; the checks of one program run (a
    client's, by its kind's lane key) share that run. A role the submission lacks is one lane.
    The runs of one client role are dealt in turn to `runs_at_once` lanes, each run's checks
    together.
    """
    grouped: dict[tuple, list[CheckSpec]] = {}
    for check in checks:
        kind = kinds[check.kind]
        if check.role.is_server or check.role not in found or kind.lane is None:
            key: tuple = (check.role,)
        else:
            key = (check.role, kind.lane(check.params))
        grouped.setdefault(key, []).append(check)
    dealt: dict[tuple, list[CheckSpec]] = {}
    runs: dict[Role, int] = {}
    for key, lane in grouped.items():
        if len(key) == 1:
            dealt[key] = lane
            continue
        role = key[0]
        runs[role] = runs.get(role, 0) + 1
        dealt.setdefault((role, (runs[role] - 1) % max(1, runs_at_once)), []).extend(lane)
    return list(dealt.values())


@dataclass
class _Pass:
    """What the checks of one pass share: the running servers, and the program runs by role and lane key."""

    servers: ServerPool
    runs: dict[Role, dict[Hashable, object]] = field(default_factory=dict)


def confirmed(first: CheckResult, second: CheckResult) -> CheckResult:
    """The result of a check run twice: the second run, alone, decides, and says what the first found.

    Only failures that rest on a time limit and grader errors are run twice (`needs_confirmation`),
    so a pass is never taken back. When the second run passes where the first failed, the
    points are the second's and the result is marked `varied`: the machine was busy, or the
    program behaves differently from run to run; the instructor sees a flag for it.
    """
    if second.passed and first.status is Status.FAILED:
        return replace(
            second,
            varied=True,
            evidence=(
                f"first run: {first.summary}",
                "run again alone to confirm that failure, it passed: the points are this second run's. A program "
                "that behaves differently from run to run (randomness, timing) may be graded differently next time",
                *second.evidence,
            ),
        )
    if second.passed or second.status is Status.ERROR:
        return replace(
            second, evidence=(f"first run: {first.summary}; run again alone, this is the second run", *second.evidence)
        )
    same = second.summary == first.summary
    note = "confirmed: run again alone, it failed " + ("the same way" if same else f"too (first run: {first.summary})")
    return replace(second, evidence=(note, *second.evidence))


def needs_confirmation(check: CheckSpec, result: CheckResult) -> bool:
    """A failure that costs points and rests on a time limit, or any check the grader could not run."""
    return result.status is Status.ERROR or (result.status is Status.FAILED and result.timed and check.required)


@dataclass
class Grading:
    """One submission, one assignment, one sandbox.

    Time limits nest: start-up and each exchange inside a check, each check inside the
    submission. The one that runs out is named in the result of the check it cut short;
    what was graded before it keeps its points.

    Where the sandbox isolates them, `start_lanes` runs lanes side by side (most of a
    grading is waiting: for absent replies, for a hung client's budget), so a result cannot
    depend on what ran beside it.
    """

    submission: Submission
    assignment: Assignment
    sandbox: Sandbox
    seed: int
    time_limit: float | None = None  # for the whole submission; None: the assignment's
    lanes: int = 1  # lanes run at once by `start_lanes`; 1: every check in turn, when pytest asks for it
    client_runs: int = CLIENT_RUNS_AT_ONCE  # runs of one client role at once, each in a container of its own
    _deadline: Deadline = field(init=False)
    _pool: ThreadPoolExecutor | None = None
    _planned: dict[str, Future] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _first: _Pass = field(init=False)  # the first pass, in lanes
    _second: _Pass = field(init=False)  # confirmations, each alone, on servers of their own
    _confirmed: dict[tuple[Role, str], str] = field(default_factory=dict)  # (role, failure) -> check that confirmed it
    results: list[CheckResult] = field(default_factory=list)  # every check run so far, in order
    _sources: dict[Role, Source] = field(init=False)  # read before any program runs, for causes' `where`

    def __post_init__(self) -> None:
        limit = self.assignment.timeouts.submission if self.time_limit is None else self.time_limit
        self._deadline = Deadline.after("submission", limit)
        self._sources = {role: source_of(self.submission.path, p) for role, p in self.submission.programs.items()}
        self._first, self._second = self._new_pass(), self._new_pass()

    def _new_pass(self) -> _Pass:
        return _Pass(
            ServerPool(
                self.sandbox, self.submission, self.assignment.port, self.assignment.timeouts.startup, self._stopping
            )
        )

    def start_lanes(self, checks: Sequence[CheckSpec]) -> None:
        """Start `checks` in lanes in the background; `run` then waits for their results."""
        if self.lanes < 2 or not self.sandbox.sandboxed or self._pool is not None:
            return
        self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix=f"lane-{self.submission.name[:12]}")
        for lane in lanes(checks, set(self.submission.programs), runs_at_once=self.client_runs):
            futures: list[Future] = [Future() for _ in lane]
            self._planned.update({check.id: future for check, future in zip(lane, futures, strict=True)})
            self._pool.submit(self._run_lane, lane, futures)

    def _run_lane(self, lane: list[CheckSpec], futures: list[Future]) -> None:
        for check, future in zip(lane, futures, strict=True):
            if self._stopping.is_set():
                future.cancel()
                continue
            try:
                future.set_result(self._evaluate(check, self._first))
            except BaseException as exc:  # a bug in a check: reported on that check, not lost in a thread
                future.set_exception(exc)

    def run(self, check: CheckSpec) -> CheckResult:
        planned = self._planned.get(check.id)
        result = planned.result() if planned is not None else self._evaluate(check, self._first)
        if needs_confirmation(check, result):
            result = self._confirm(check, result)
        self.results.append(result)
        return result

    def _confirm(self, check: CheckSpec, first: CheckResult) -> CheckResult:
        """Run `check` again once nothing else of this submission runs, on servers (or a client run) of its own.

        Once a failure is confirmed for a role, a later check of that role that failed in the
        very same words is confirmed by it (the role was run again, alone, and failed that way):
        a server that answers nothing is started again once, not once for each of its checks.
        """
        wait(list(self._planned.values()))
        if self._stopping.is_set() or self._deadline.expired():
            return replace(first, evidence=(*first.evidence, f"not confirmed: {self._deadline.describe()} ran out"))
        by = self._confirmed.get((check.role, first.summary)) if first.status is Status.FAILED else None
        if by is not None:
            return replace(
                first,
                evidence=(
                    f"confirmed: {by} failed the same way when run again alone, on a fresh {check.role.value}",
                    *first.evidence,
                ),
            )
        result = confirmed(first, self._evaluate(check, self._second))
        if result.status is Status.FAILED and result.summary == first.summary:
            self._confirmed[(check.role, first.summary)] = check.id
        return result

    def _evaluate(self, check: CheckSpec, current: _Pass) -> CheckResult:
        started = time.monotonic()
        advisory = not check.required
        if self._deadline.expired(started):
            return CheckResult(
                check.id,
                Status.FAILED,
                0.0,
                check.points,
                f"not run: {self._deadline.describe()} ran out before this check",
                ("the checks before it keep their results",),
                advisory=advisory,
            )
        deadline = Deadline.earliest(Deadline.after("check", self.assignment.timeouts.check, started), self._deadline)
        try:
            verdict = self._verdict(check, deadline, current)
        except SandboxError as exc:
            return CheckResult(
                check.id,
                Status.ERROR,
                0.0,
                check.points,
                f"the grader could not run this check: {exc}",
                (f"sandbox {self.sandbox.name}",),
                None,
                time.monotonic() - started,
                advisory=advisory,
            )
        if not verdict.passed and deadline.expired() and deadline.describe() not in verdict.summary:
            verdict.summary = f"{deadline.describe()} ran out during this check: {verdict.summary}"
            verdict.timed = True
        points = check.points if verdict.passed else 0.0
        status = (
            Status.PASSED
            if verdict.passed
            else (Status.MISSING if check.role not in self.submission.programs else Status.FAILED)
        )
        return CheckResult(
            check.id,
            status,
            points,
            check.points,
            verdict.summary,
            tuple(verdict.evidence),
            verdict.cause,
            time.monotonic() - started,
            timed=verdict.timed and not verdict.passed,
            advisory=advisory,
            steps=tuple(verdict.steps[: model.MAX_STEPS]),
        )

    def close(self) -> None:
        """Lanes start no new check, and their servers are stopped under them, which ends their waits."""
        self._stopping.set()
        self._stop_servers()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop_servers()  # any a lane restarted meanwhile

    def _source(self, role: Role) -> Source:
        return self._sources.get(role, NO_SOURCE)

    def _stop_servers(self) -> None:
        for current in (self._first, self._second):
            current.servers.stop_all()

    def _verdict(self, check: CheckSpec, deadline: Deadline, current: _Pass) -> Verdict:
        program = self.submission.programs.get(check.role)
        if program is None:
            found = how_roles_are_found(check.role)
            return Verdict(
                False,
                f"no {check.role.value} found in the submission",
                [found],
                Cause("missing-role", f"no {check.role.value} found in the submission: {found}"),
            )
        kind = KINDS[check.kind]
        if not check.role.is_server:
            verdict = kind.run(
                ProgramCheck(
                    check,
                    program,
                    self.submission,
                    self.sandbox,
                    self.assignment.port,
                    self.assignment.transform,
                    derive_seed(self.seed, check.role.value, kind.lane(check.params) if kind.lane else check.id),
                    deadline,
                    self.assignment.timeouts.client_budget,
                    self._source(check.role),
                    current.runs.setdefault(check.role, {}),
                )
            )
            verdict.evidence.append(f"seed {self.seed}, sandbox {self.sandbox.name}")
            return verdict
        server = current.servers.server(check.role, deadline)
        if isinstance(server, StartFailure):
            return Verdict(False, server.summary, list(server.evidence), server.cause, server.timed)
        seed = check_seed(self.seed, check)
        verdict = self._play(kind, check, server, seed, deadline)
        verdict.evidence.append(f"seed {self.seed} (check seed {seed}), sandbox {self.sandbox.name}")
        exit_info = server.exit_info() if verdict.passed else _await_exit(server, CRASH_GRACE)
        if exit_info is not None:
            output = server.output_tail(OUTPUT_LINES)
            current.servers.discard(check.role)
            verdict.passed = False
            verdict.timed = False  # a crash is the program's own doing
            verdict.summary = (
                f"the server crashed during this check ({exit_info.reason}); it is restarted for the next check"
            )
            verdict.evidence.append(quoted_output("program output", output, OUTPUT_LINES))
            verdict.cause = (
                diagnose.program_error_cause(output)
                or diagnose.exit_cause(exit_info, self._source(check.role))
                or verdict.cause
            )
        elif not verdict.passed:
            verdict.evidence.append(quoted_output("program output", server.output_tail(OUTPUT_LINES), OUTPUT_LINES))
        return verdict

    def _play(self, kind: Kind, check: CheckSpec, server: RunningServer, seed: int, deadline: Deadline) -> Verdict:
        sockets = server.bound_sockets() or []
        verdict = kind.run(
            ServerCheck(
                check,
                server,
                sockets,
                self.assignment.port,
                self.assignment.transform,
                seed,
                deadline,
                self._source(check.role),
            )
        )
        if not verdict.passed and verdict.cause is None:
            problem = diagnose.listening_problem(
                sockets, check.role.transport, self.assignment.port, self._source(check.role)
            )
            if problem is not None:
                verdict.evidence.insert(0, problem[0])
                verdict.cause = problem[1]
                verdict.timed = False  # where it listens decided it, not how long it took
        return verdict


def _await_exit(server: RunningServer, grace: float) -> ExitInfo | None:
    deadline = time.monotonic() + grace
    while (info := server.exit_info()) is None and time.monotonic() < deadline:
        time.sleep(POLL)
    return info
