"""Runs the checks of one assignment against one submission: the heart of the flow.

The engine owns the running servers of one submission: it starts each role's server on
first use, keeps it for the next checks, and restarts it after a crash, so one crash
costs one check, not the rest.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from grader import diagnose, netio
from grader.model import CheckResult, CheckSpec, Deadline, Role, Status, Submission
from grader.sandbox import ExitInfo, RunningServer, Sandbox, SandboxError
from grader.scenarios import clients, tcp_server, udp_server
from grader.scenarios.common import Verdict, shorten
from grader.spec import Assignment
from grader.startup import Decision, StartupLimits, StartupWatch

POLL = 0.02  # seconds between looks at a starting server
OUTPUT_LINES = 12
CRASH_GRACE = 0.3  # a crashing server closes its sockets a moment before it is reported as exited


def check_seed(run_seed: int, check: CheckSpec) -> int:
    """Each check gets its own seed, derived from the run's, so reordering checks changes nothing."""
    return zlib.crc32(f"{run_seed}:{check.id}".encode())


@dataclass
class StartFailure:
    summary: str
    evidence: list[str]
    hint: str | None
    timed: bool = False  # a time limit decided it, not the program's exit


@dataclass
class _Servers:
    """The running server of each role, and the start failures that stand for the rest of a pass."""

    running: dict[Role, RunningServer] = field(default_factory=dict)
    start_failures: dict[Role, StartFailure] = field(default_factory=dict)
    client_runs: dict[tuple, clients.ClientRun] = field(default_factory=dict)  # shared by checks of one run


def confirmed(first: CheckResult, second: CheckResult) -> CheckResult:
    """The result of a check run twice: the second run, alone, decides, and says what the first found.

    Only failures that rest on a time limit and grader errors are run twice (`needs_confirmation`),
    so a pass is never taken back. When the second run passes where the first failed, the
    points are the second's and the result is marked `varied`: the machine was busy, or the
    program behaves differently from run to run; the instructor sees a flag for it.
    """
    if second.passed and first.status is Status.FAILED:
        return replace(second, varied=True, evidence=(
            f"first run: {first.summary}",
            "run again alone to confirm that failure, it passed: the points are this second run's. A program "
            "that behaves differently from run to run (randomness, timing) may be graded differently next time",
            *second.evidence))
    if second.passed or second.status is Status.ERROR:
        return replace(second, evidence=(f"first run: {first.summary}; run again alone, this is the second run",
                                         *second.evidence))
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

    Where the sandbox isolates them, `plan` runs checks side by side (most of a grading is
    waiting: for absent replies, for a hung client's budget). Checks that share something
    stay in order in one lane: a server role's checks share its running server, the checks
    of one client run share that run. Lanes share nothing, so a result cannot depend on
    what ran beside it.
    """

    submission: Submission
    assignment: Assignment
    sandbox: Sandbox
    seed: int
    time_limit: float | None = None  # for the whole submission; None: the assignment's
    parallel: int = 1  # lanes run at once by `plan`; 1: every check in turn, when pytest asks for it
    _deadline: Deadline = field(init=False)
    _pool: ThreadPoolExecutor | None = None
    _planned: dict[str, Future] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _first: _Servers = field(default_factory=_Servers)  # the first pass, in lanes
    _second: _Servers = field(default_factory=_Servers)  # confirmations, each alone, on servers of their own
    _confirmed: dict[tuple[Role, str], str] = field(default_factory=dict)  # (role, failure) -> check that confirmed it
    results: list[CheckResult] = field(default_factory=list)  # every check run so far, in order

    def __post_init__(self) -> None:
        limit = self.assignment.timeouts.submission if self.time_limit is None else self.time_limit
        self._deadline = Deadline.after("submission", limit)

    def plan(self, checks: Sequence[CheckSpec]) -> None:
        """Start `checks` in lanes in the background; `run` then waits for their results."""
        if self.parallel < 2 or not self.sandbox.sandboxed or self._pool is not None:
            return
        lanes: dict[tuple, list[CheckSpec]] = {}
        for check in checks:
            if check.role.is_server or check.role not in self.submission.programs:
                lanes.setdefault((check.role,), []).append(check)
            else:
                lanes.setdefault((check.role, check.params.scenario_key()), []).append(check)
        self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix=f"lane-{self.submission.name[:12]}")
        for lane in lanes.values():
            futures = [Future() for _ in lane]
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
            return replace(first, evidence=(f"confirmed: {by} failed the same way when run again alone, on a "
                                            f"fresh {check.role.value}", *first.evidence))
        result = confirmed(first, self._evaluate(check, self._second))
        if result.status is Status.FAILED and result.summary == first.summary:
            self._confirmed[(check.role, first.summary)] = check.id
        return result

    def _evaluate(self, check: CheckSpec, servers: _Servers) -> CheckResult:
        started = time.monotonic()
        if self._deadline.expired(started):
            return CheckResult(check.id, Status.FAILED, 0.0, check.points,
                               f"not run: {self._deadline.describe()} ran out before this check",
                               ("the checks before it keep their results",), advisory=not check.required)
        deadline = Deadline.earliest(Deadline.after("check", self.assignment.timeouts.check, started), self._deadline)
        try:
            verdict = self._verdict(check, deadline, servers)
        except SandboxError as exc:
            return CheckResult(check.id, Status.ERROR, 0.0, check.points,
                               f"the grader could not run this check: {exc}", (f"sandbox {self.sandbox.name}",),
                               None, time.monotonic() - started, advisory=not check.required)
        if not verdict.passed and deadline.expired() and deadline.describe() not in verdict.summary:
            verdict.summary = f"{deadline.describe()} ran out during this check: {verdict.summary}"
            verdict.timed = True
        points = check.points if verdict.passed else 0.0
        status = Status.PASSED if verdict.passed else (
            Status.MISSING if check.role not in self.submission.programs else Status.FAILED)
        return CheckResult(check.id, status, points, check.points, verdict.summary, tuple(verdict.evidence),
                           verdict.hint, time.monotonic() - started, timed=verdict.timed and not verdict.passed,
                           advisory=not check.required)

    def close(self) -> None:
        """Lanes start no new check, and their servers are stopped under them, which ends their waits."""
        self._stopping.set()
        self._stop_servers()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop_servers()  # any a lane restarted meanwhile

    def _stop_servers(self) -> None:
        for servers in (self._first, self._second):
            for role, server in list(servers.running.items()):
                servers.running.pop(role, None)
                server.stop()

    def _verdict(self, check: CheckSpec, deadline: Deadline, servers: _Servers) -> Verdict:
        program = self.submission.programs.get(check.role)
        if program is None:
            return Verdict(False, f"no {check.role.value} found in the submission", [
                "discovery looks for files that use "
                + ("SOCK_DGRAM" if check.role.transport == "udp" else "SOCK_STREAM")
                + (" and bind" if check.role.is_server else " without bind")
                + f", or named like {_example_name(check.role)}; a grader.toml can name it"])
        if not check.role.is_server:
            verdict = self._play_client(check, deadline, servers)
            verdict.evidence.append(f"seed {self.seed}, sandbox {self.sandbox.name}")
            return verdict
        server = self._server(check.role, deadline, servers)
        if isinstance(server, StartFailure):
            return Verdict(False, server.summary, list(server.evidence), server.hint, server.timed)
        seed = check_seed(self.seed, check)
        verdict = self._play(check, server, seed, deadline)
        verdict.evidence.append(f"seed {self.seed} (check seed {seed}), sandbox {self.sandbox.name}")
        exit_info = server.exit_info() if verdict.passed else _await_exit(server, CRASH_GRACE)
        if exit_info is not None:
            output = server.output_tail(OUTPUT_LINES)
            servers.running.pop(check.role, None)
            server.stop()
            verdict.passed = False
            verdict.timed = False  # a crash is the program's own doing
            verdict.summary = f"the server crashed during this check ({exit_info.reason}); it is restarted for the next check"
            verdict.evidence.append(_output_evidence(output))
            verdict.hint = diagnose.program_error_hint(output) or verdict.hint
        elif not verdict.passed:
            verdict.evidence.append(_output_evidence(server.output_tail(OUTPUT_LINES)))
        return verdict

    def _play(self, check: CheckSpec, server: RunningServer, seed: int, deadline: Deadline) -> Verdict:
        transport = check.role.transport
        port = self.assignment.port
        sockets = server.bound_sockets() or []
        if check.kind == "listening":
            problem = diagnose.listening_problem(sockets, transport, port)
            found = ", ".join(map(str, sockets)) or "none"
            if problem is None:
                return Verdict(True, f"listening on {transport.upper()} port {port}, all interfaces",
                               [f"bound sockets: {found}"])
            return Verdict(False, problem[0], [f"bound sockets: {found}"], problem[1])
        transform = self.assignment.transform
        if check.kind == "udp_exchange":
            plan = udp_server.plan(check.params, transform, seed)
            machine = netio.play_udp(plan, server.address("udp"), deadline.at, server.make_socket)
            verdict = udp_server.judge(machine)
        elif check.kind == "tcp_exchange":
            tcp_plan = tcp_server.plan(check.params, transform, seed)
            records = netio.play_tcp(tcp_plan, server.address("tcp"), deadline.at,
                                     server.unread_bytes, server.make_socket)
            verdict = tcp_server.judge(tcp_plan, records)
        else:
            raise ValueError(f"no runner for scenario kind {check.kind!r}")
        if not verdict.passed and verdict.hint is None:
            problem = diagnose.listening_problem(sockets, transport, port)
            if problem is not None:
                verdict.evidence.insert(0, problem[0])
                verdict.hint = problem[1]
                verdict.timed = False  # where it listens decided it, not how long it took
        return verdict

    def _play_client(self, check: CheckSpec, deadline: Deadline, servers: _Servers) -> Verdict:
        params: clients.ClientParams = check.params
        transport = check.role.transport
        behaviours = clients.UDP_BEHAVIOURS if transport == "udp" else clients.TCP_BEHAVIOURS
        if params.behaviour not in behaviours:
            raise ValueError(f"{check.id}: behaviour {params.behaviour!r} is not a {transport} behaviour")
        key = (check.role, params.scenario_key())
        seed = zlib.crc32(f"{self.seed}:{check.role.value}:{key[1]}".encode())
        line = clients.typed_line(seed)
        reply = self.assignment.transform(line.encode()).decode("utf-8", "replace")
        run = servers.client_runs.get(key)
        if run is None:
            if not self.sandbox.sandboxed:
                self._stop_servers()  # local servers hold the host's port 12000, which the scripted server needs
            program = self.submission.programs[check.role]
            budget = self.assignment.timeouts.client_budget
            cut = deadline.remaining() < budget  # a run cut short by a time limit is not shared
            run = self.sandbox.run_client(self.submission.path, program, (line + "\n").encode(),
                                          clients.server_spec(transport, params, self.assignment.port),
                                          max(0.1, min(budget, deadline.remaining())))
            if not cut:
                servers.client_runs[key] = run
        return clients.judge(params.expect, run, line, reply, self._source(check.role))

    def _source(self, role: Role) -> str:
        program = self.submission.programs[role]
        if program.source is None:
            return ""
        try:
            return (self.submission.path / program.source).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _server(self, role: Role, deadline: Deadline, servers: _Servers) -> RunningServer | StartFailure:
        if role in servers.start_failures:
            return servers.start_failures[role]
        server = servers.running.get(role)
        if server is not None and server.exit_info() is None:
            return server
        server = self.sandbox.start_server(self.submission.path, self.submission.programs[role], self.assignment.port)
        servers.running[role] = server  # at once, so that close() stops it even while it starts
        outcome = self._await_start(role, server, deadline)
        if isinstance(outcome, StartFailure):
            servers.running.pop(role, None)
            server.stop()
            # Even when a time limit cut the wait short: the next check's would be cut the same way.
            servers.start_failures[role] = outcome
            return outcome
        return server

    def _await_start(self, role: Role, server: RunningServer, deadline: Deadline) -> RunningServer | StartFailure:
        """Started by the rule of grader.startup: bound a socket of its transport, and then waiting or busy and alive."""
        limits = StartupLimits.for_startup(self.assignment.timeouts.startup)
        watch = StartupWatch(limits)
        started = time.monotonic()
        program = self.submission.programs[role]
        ran = f"ran: {' '.join(program.command)}"
        decision = Decision.WAIT
        while not deadline.expired() and not self._stopping.is_set():
            exit_info = server.exit_info()
            if exit_info is not None:
                output = server.output_tail(OUTPUT_LINES)
                when = "after binding its socket, before it served anything" if watch.bound else "before listening"
                return StartFailure(f"the program did not start: it {exit_info.reason} {when}",
                                    [ran, _output_evidence(output)], diagnose.program_error_hint(output))
            sockets = server.bound_sockets()
            bound = sockets is None or any(s.transport == role.transport for s in sockets)
            decision = watch.observe(time.monotonic() - started, server.usage(), bound)
            if decision is Decision.STARTED:
                return server
            if decision is not Decision.WAIT:
                break
            time.sleep(POLL)
        output = server.output_tail(OUTPUT_LINES)
        transport = role.transport.upper()
        cpu = watch.cpu_used
        if decision is Decision.CPU_LIMIT:
            summary = (f"the program did not start listening: it used the start-up time limit "
                       f"({limits.cpu:g} s of CPU time) without binding a {transport} socket")
        elif decision is Decision.WALL_LIMIT and cpu is not None:
            summary = (f"the program did not start listening: no {transport} socket bound within the start-up time "
                       f"limit ({limits.wall:g} s on the clock; it used {cpu:.2f} s of its {limits.cpu:g} s of CPU "
                       f"time, so it waited or slept)")
        elif decision is Decision.WALL_LIMIT:
            summary = (f"the program did not start listening: no {transport} socket bound within the start-up time "
                       f"limit ({limits.cpu:g} s)")
        else:
            summary = (f"the program did not start listening: no {transport} socket bound within "
                       f"{deadline.describe()}")
        return StartFailure(summary, [ran, _output_evidence(output)],
                            diagnose.program_error_hint(output) or "bind the server socket right at start-up",
                            timed=True)


def _await_exit(server: RunningServer, grace: float) -> ExitInfo | None:
    deadline = time.monotonic() + grace
    while (info := server.exit_info()) is None and time.monotonic() < deadline:
        time.sleep(POLL)
    return info


def _output_evidence(output: str) -> str:
    if not output.strip():
        return "program output: (none)"
    return "program output (last lines):\n" + "\n".join(f"    {shorten(line)}" for line in output.splitlines())


def _example_name(role: Role) -> str:
    return {"udp_server": "UDPServer.py", "udp_client": "UDPClient.py",
            "tcp_server": "TCPServer.py", "tcp_client": "TCPClient.py"}[role.value]
