"""The `tcp_two_requests` kind: two lines on one connection, the second sent once the first is answered.

The textbook server answers one line and closes the connection; a server that serves a
connection in a loop (recv, reply, until the client closes) answers both. Advisory where it
is used (`uppercase-robust`): the exercise asks for one line per connection.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from grader import netio
from grader.model import Cause, Role
from grader.scenarios.common import Transform, Verdict, explain_wrong_reply, make_payloads, same_reply, show
from grader.scenarios.kind import Kind, ServerCheck
from grader.scenarios.stream_steps import Recorder, stream_steps
from grader.scenarios.tcp_exchange import MAX_REPLY, STOPPED
from grader.tcp_actions import Action, Close, Connect, ConnectFailed, Done, Eof, Error, Event, Read, Received, Send


@dataclass(frozen=True)
class TwoRequestsParams:
    reply_timeout: float = 2.0  # for each reply

    def __post_init__(self) -> None:
        if not 0 < self.reply_timeout <= 10:
            raise ValueError("reply_timeout must be in (0, 10] seconds")


@dataclass(frozen=True)
class TwoRequestsPlan:
    requests: tuple[bytes, ...]
    expected: tuple[bytes, ...]
    reply_timeout: float


def plan(params: TwoRequestsParams, transform: Transform, seed: int) -> TwoRequestsPlan:
    requests = tuple(make_payloads("words", 2, seed, "keep"))
    return TwoRequestsPlan(requests, tuple(transform(r) for r in requests), params.reply_timeout)


@dataclass
class TwoRequestsMachine:
    """The client's decisions, sans I/O: connect, then for each request send it and read until its reply is whole."""

    plan: TwoRequestsPlan
    stop_at: float | None = None  # seconds since the start, as every time here
    replies: list[bytes] = field(init=False)
    answered: int = 0
    error: str | None = None
    timed: bool = False  # the failure is a wait that ran out
    now: float = 0.0

    def __post_init__(self) -> None:
        self.replies = [b"" for _ in self.plan.requests]
        self._script = self._play()

    def start(self, now: float) -> Action:
        self.now = now
        return next(self._script)

    def handle(self, event: Event) -> Action:
        self.now = event.t
        return self._script.send(event)

    def _play(self) -> Generator[Action, Event, None]:
        event = yield Connect(0, self._cap(self.plan.reply_timeout), nodelay=True)
        if isinstance(event, ConnectFailed):
            self.error, self.timed = f"the connection failed: {event.error}", True
            yield Done()
            return
        for index, request in enumerate(self.plan.requests):
            event = yield Send(0, request, self._cap(self.plan.reply_timeout))
            if isinstance(event, Error):
                self.error = f"sending request {index} failed: {event.error}"
                break
            yield from self._read_reply(index)
            if self.error is not None:
                break
            self.answered += 1
        yield Close(0, rst=False)
        yield Done()

    def _read_reply(self, index: int) -> Generator[Action, Event, None]:
        deadline = self.now + self.plan.reply_timeout
        while not same_reply(self.replies[index], self.plan.expected[index]):
            wait = self._cap(deadline - self.now)
            if wait <= 0 or len(self.replies[index]) >= MAX_REPLY:
                stopped = self.stop_at is not None and self.now >= self.stop_at
                self.error = STOPPED if stopped else f"no whole reply within {self.plan.reply_timeout:g} s"
                self.timed = True
                return
            event = yield Read(0, wait)
            if isinstance(event, Received):
                self.replies[index] += event.data
            elif isinstance(event, Eof):
                self.error = "the server closed the connection"
                return
            elif isinstance(event, Error):
                self.error = event.error
                return

    def _cap(self, seconds: float) -> float:
        return seconds if self.stop_at is None else max(0.0, min(seconds, self.stop_at - self.now))


def judge(machine: TwoRequestsMachine) -> Verdict:
    plan = machine.plan
    evidence = [
        f"request {i}: sent {show(request)}, expected {show(plan.expected[i])}, got {show(machine.replies[i])}"
        for i, request in enumerate(plan.requests)
        if i <= machine.answered
    ]
    if machine.answered == len(plan.requests):
        return Verdict(True, "both requests on one connection were answered", evidence)
    index = machine.answered
    got = machine.replies[index]
    if got and not same_reply(got, plan.expected[index]) and not machine.timed:
        what, cause = explain_wrong_reply(got, plan.expected[index], plan.requests[index])
        return Verdict(False, f"wrong reply to request {index} on the connection: {what}", evidence, cause)
    if index == 0:
        return Verdict(False, f"no reply to the first request: {machine.error}", evidence, timed=machine.timed)
    return Verdict(
        False,
        f"the first request was answered, the second on the same connection was not: {machine.error}",
        evidence,
        Cause(
            "one-request-per-connection",
            "serve each connection in a loop (recv, reply) until recv returns b'' (the client closed it)",
        ),
        timed=machine.timed,
    )


def run(check: ServerCheck) -> Verdict:
    machine = TwoRequestsMachine(plan(check.check.params, check.transform, check.seed), check.deadline.remaining())
    recorder = Recorder(machine)
    netio.play_tcp(recorder, check.server.address("tcp"), None, check.server.make_socket, check.server.released)
    verdict = judge(machine)
    verdict.steps = stream_steps(recorder.log)
    return verdict


KIND = Kind("tcp_two_requests", frozenset({Role.TCP_SERVER}), TwoRequestsParams, run)
