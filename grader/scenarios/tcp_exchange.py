"""The `tcp_exchange` kind: which connections a scripted client opens, what it writes, how it judges.

Pure: TcpClientMachine makes every decision of the scripted client (connection order, when a
reply is complete, how long to wait) and fills in ConnectionRecords; grader.netio only moves
its bytes over real sockets; `judge` reads the records. A reply is complete when it matches
the expected bytes, or when the server closes, or when the reply timeout runs out: never
"whatever one recv returned".
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from grader import netio
from grader.impair import Ending, StreamPlan, slice_stream
from grader.model import Cause, Role
from grader.scenarios.common import (
    MIN_LENGTH,
    PAYLOADS,
    Transform,
    Verdict,
    explain_wrong_reply,
    make_payloads,
    same_reply,
    show,
)
from grader.scenarios.kind import Kind, ServerCheck
from grader.scenarios.stream_steps import Recorder, stream_steps
from grader.tcp_actions import (
    Action,
    AskUnread,
    Close,
    Connect,
    Connected,
    ConnectFailed,
    Done,
    Eof,
    Error,
    Event,
    HalfClose,
    NeverRead,
    Pause,
    Read,
    Received,
    Send,
    Sent,
    Stuck,
    Tick,
    TimedOut,
    UnreadBytes,
)

ENDINGS = tuple(e.value for e in Ending)


@dataclass(frozen=True)
class TcpExchangeParams:
    clients: int = 1  # connections that each send one request, in turn
    overlapping: bool = False  # open every connection before the first request is sent
    idle_first: bool = False  # an extra first connection opens and never sends
    payload: str = "words"
    length: int = 0
    pieces: int = 1  # the request is written in this many slices...
    pause: float = 0.05  # ...with this pause between them (TCP_NODELAY)
    ending: str = "keep_open"  # keep_open (textbook client) | half_close | reset
    expect_reply: bool = True
    expect_close: bool = False  # the server must close the connection after replying
    probe_after: bool = False  # then a plain request on a new connection must be answered
    reply_timeout: float = 2.0
    close_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.payload not in PAYLOADS:
            raise ValueError(f"payload must be one of {', '.join(PAYLOADS)}, not {self.payload!r}")
        if self.ending not in ENDINGS:
            raise ValueError(f"ending must be one of {', '.join(ENDINGS)}, not {self.ending!r}")
        if self.length and not MIN_LENGTH <= self.length <= 1 << 20:
            raise ValueError(f"length must be 0 (natural) or {MIN_LENGTH}..1048576 bytes")
        if not 1 <= self.clients <= 32 or not 1 <= self.pieces <= 1000:
            raise ValueError("clients must be 1..32 and pieces 1..1000")
        if not 0 < self.reply_timeout <= 10 or not 0 < self.close_timeout <= 10 or not 0 <= self.pause <= 2:
            raise ValueError("timeouts must be in (0, 10] seconds and pause in [0, 2]")


@dataclass(frozen=True)
class ConnectionPlan:
    index: int
    stream: StreamPlan | None  # None: connects and stays silent
    expected: bytes | None  # None: no reply required


@dataclass(frozen=True)
class TcpPlan:
    connections: tuple[ConnectionPlan, ...]
    overlapping: bool  # connect all (in order) before the first write
    expect_close: bool
    reply_timeout: float
    close_timeout: float
    probe: ConnectionPlan | None = None

    @property
    def budget(self) -> float:
        per = (
            self.reply_timeout
            + self.close_timeout
            + sum(w.pause_before for c in self.connections if c.stream for w in c.stream.writes)
        )
        return per * (len(self.connections) + 1) + 1.0


def plan(params: TcpExchangeParams, transform: Transform, seed: int) -> TcpPlan:
    payloads = make_payloads(params.payload, params.clients, seed, "tcp", params.length)
    ending = Ending(params.ending)
    connections: list[ConnectionPlan] = []
    if params.idle_first:
        connections.append(ConnectionPlan(0, None, None))
    for i, payload in enumerate(payloads):
        stream = (
            slice_stream(payload, params.pieces, params.pause, seed + i)
            if params.pieces > 1
            else StreamPlan.whole(payload).writes
        )
        expected = transform(payload) if params.expect_reply and ending is not Ending.RESET else None
        connections.append(ConnectionPlan(len(connections), StreamPlan(stream, ending), expected))
    probe = None
    if params.probe_after:
        line = make_payloads("words", 1, seed, "probe")[0]
        probe = ConnectionPlan(len(connections), StreamPlan.whole(line), transform(line))
    return TcpPlan(
        tuple(connections),
        params.overlapping or params.idle_first,
        params.expect_close,
        params.reply_timeout,
        params.close_timeout,
        probe,
    )


@dataclass
class ConnectionRecord:
    """What one connection saw; times are seconds since the scenario started."""

    plan: ConnectionPlan
    connect_error: str | None = None
    reply: bytes = b""
    replied_at: float | None = None  # when the reply matched the expected bytes
    closed_at: float | None = None  # when the server's EOF arrived
    error: str | None = None  # "reset by the server", "timed out", ...
    notes: list[str] = field(default_factory=list)
    blocked_by_idle: bool = False  # no reply in time, and it came once the silent first client was closed
    stuck: str | None = None  # how the server was seen blocked forever while the silent client was connected

    @property
    def matched(self) -> bool:
        return self.plan.expected is not None and same_reply(self.reply, self.plan.expected)


MAX_REPLY = 1 << 20  # a server that streams endlessly is cut off here
STOPPED = "stopped: a time limit of the grading ran out"
READ_WAIT = 0.5  # seconds a slice may wait to be read before the next is sent anyway
READ_POLL = 0.005  # seconds between two questions "has the server read it all?"


Script = Generator[Action, Event, None]


class TcpClientMachine:
    """The scripted TCP client's decisions, one action at a time, with no socket and no clock of its own.

    The caller performs each action and hands back what came of it (`handle`), with the
    time; the machine answers with the next action until `Done`. Connections are played in
    the plan's order: with `overlapping`, all are opened before the first request is
    written (the idle one among them, which then stays silent until the end); the probe
    connection comes last, on its own. `stop_at` (seconds since the start, like every
    time here) is the caller's time limit: every wait is capped by it, so a check or
    submission limit ends the exchange when it runs out, not a reply timeout later, and
    what it cut short says so (STOPPED), apart from the server's own failures.
    `watch_reads` says the caller can answer AskUnread.

    The script is a generator, so it reads top-down in the order the client plays it:
    each `yield` is an action handed out, and the event it receives is what came of it.
    """

    def __init__(self, plan: TcpPlan, stop_at: float | None = None, watch_reads: bool = True):
        self.plan = plan
        self.stop_at = stop_at
        self.watch_reads = watch_reads
        self.records = [ConnectionRecord(c) for c in plan.connections]
        self.now = 0.0
        self._open: set[int] = set()  # connections connected and not yet closed
        self._script: Script | None = None

    def start(self, now: float) -> Action:
        if self._script is not None:
            raise ValueError("the machine has already started")
        self.now = now
        self._script = self._play()
        return next(self._script)

    def handle(self, event: Event) -> Action:
        """What came of the last action; the answer is the next one."""
        if self._script is None:
            raise ValueError("start the machine before handing it events")
        self.now = event.t
        try:
            return self._script.send(event)
        except StopIteration:
            raise ValueError(f"the exchange is over: {event} came after Done") from None

    # ---------------------------------------------------------------- the script

    def _play(self) -> Script:
        if self.plan.overlapping:
            for record in self.records:
                yield from self._connect(record)
        for record in self.records:
            if record.plan.stream is None:
                continue
            if not self.plan.overlapping:
                yield from self._connect(record)
            if record.plan.index in self._open:
                yield from self._exchange(record)
        if self.plan.probe is not None:
            probe = ConnectionRecord(self.plan.probe, notes=["(probe: is the server still serving?)"])
            self.records.append(probe)
            yield from self._connect(probe)
            if probe.plan.index in self._open:
                yield from self._exchange(probe)
        for conn in sorted(self._open):  # the idle connection, silent to the end
            yield from self._close(conn, rst=False)
        yield Done()

    def _connect(self, record: ConnectionRecord) -> Script:
        timeout = self._cap(self.plan.reply_timeout)
        if timeout <= 0:
            record.connect_error = STOPPED
            return
        conn, stream = record.plan.index, record.plan.stream
        match _answer(
            (yield Connect(conn, timeout, stream is not None and stream.nodelay)), conn, Connected, ConnectFailed
        ):
            case ConnectFailed(error=error):
                record.connect_error = error
            case Connected():
                self._open.add(conn)

    def _exchange(self, record: ConnectionRecord) -> Script:
        """Write the request as planned, end the connection as planned, read the reply, close."""
        conn = record.plan.index
        stream: StreamPlan = record.plan.stream  # type: ignore[assignment]
        for write in stream.writes:
            if write.pause_before:
                yield from self._await_read(conn)
                pause = self._cap(write.pause_before)
                if pause > 0:
                    _answer((yield Pause(pause)), None, Tick)  # the pause *is* the scenario: a slow writer
            if self._stopped:
                record.error = STOPPED
                yield from self._close(conn, rst=False)
                return
            match _answer((yield Send(conn, write.data, self._cap(self.plan.reply_timeout))), conn, Sent, Error):
                case Error(error=error):
                    record.error = f"while sending: {error}"
                    yield from self._close(conn, rst=False)
                    return
        if stream.ending is Ending.RESET:
            yield from self._close(conn, rst=True)  # the server must survive a peer that vanished unread
            return
        if stream.ending is Ending.HALF_CLOSE:
            match _answer((yield HalfClose(conn)), conn, Sent, Error):
                case Error(error=error):
                    record.error = f"while sending: {error}"
                    yield from self._close(conn, rst=False)
                    return
        yield from self._read_reply(record)
        yield from self._unblock(record)
        yield from self._close(conn, rst=record.closed_at is not None)

    def _unblock(self, record: ConnectionRecord) -> Script:
        """No reply in time while a silent client is connected: close that one, then wait once more.

        A reply that comes then shows the server serves one connection at a time, which is
        what the feedback says; the check fails all the same, since it was late. A server seen
        blocked forever meanwhile (`stuck`) could not have replied in time either: its wait
        was not waited out.
        """
        idle = self._idle()
        if record.matched or (record.error != self._timeout_error and record.stuck is None) or not idle:
            return
        for conn in idle:
            yield from self._close(conn, rst=False)
        record.error = None
        yield from self._read_reply(record)
        if record.matched:
            record.blocked_by_idle = True
            record.notes.append("the reply came only after the silent first client was closed")
            if record.stuck is not None:
                record.notes.append(f"until then the server was {record.stuck}")
        else:
            record.error = record.error or self._timeout_error

    def _await_read(self, conn: int) -> Script:
        """Until the server has read all we sent, can read no more (NeverRead), or READ_WAIT.

        One that reads nothing is not waited for long.

        Without it a busy machine could let the slices pile up in the server's buffer, one
        recv would return them merged, and the verdict would depend on the machine's load.
        """
        if not self.watch_reads:
            return
        until = self.now + self._cap(READ_WAIT)
        for _ in range(round(READ_WAIT / READ_POLL)):  # bounded in count too, whatever the clock does
            match _answer((yield AskUnread(conn)), conn, UnreadBytes, NeverRead):
                case UnreadBytes(count=0) | NeverRead():
                    return
            if self.now >= until:
                return
            _answer((yield Pause(READ_POLL)), None, Tick)

    def _read_reply(self, record: ConnectionRecord) -> Script:
        """Until the reply matches (then, with expect_close, the server's EOF), EOF, an error or a timeout.

        Never "whatever one recv returned": a reply may arrive in pieces.
        """
        conn, expected = record.plan.index, record.plan.expected
        deadline = self.now + self.plan.reply_timeout
        # With a silent connection of ours open, nothing we do wakes a server blocked forever:
        # no reply can come before we close that one (`_unblock`), so it is not waited out.
        until_stuck = bool(self._idle())
        while len(record.reply) < MAX_REPLY:
            if self._stopped:
                record.error = STOPPED
                return
            remaining = deadline - self.now
            if remaining <= 0:
                record.error = self._timeout_error
                return
            timeout = self._cap(remaining)
            match _answer((yield Read(conn, timeout, until_stuck)), conn, Received, Eof, TimedOut, Stuck, Error):
                case TimedOut():
                    record.error = STOPPED if timeout < remaining else self._timeout_error
                    return
                case Stuck(how=how):
                    record.stuck = how
                    record.error = f"no reply could come: the server is {how}"
                    return
                case Error(error=error):
                    record.error = error
                    return
                case Eof(t=t):
                    record.closed_at = t
                    return
                case Received(data=data, t=t):
                    record.reply += data
                    if expected is not None and record.replied_at is None and same_reply(record.reply, expected):
                        record.replied_at = t
                        if not self.plan.expect_close:
                            return
                        deadline = t + self.plan.close_timeout  # now wait for the server's EOF
                        until_stuck = False  # a close that does not come is judged on its own timeout

    def _idle(self) -> list[int]:
        """Our silent connections still open."""
        return sorted(r.plan.index for r in self.records if r.plan.stream is None and r.plan.index in self._open)

    def _close(self, conn: int, rst: bool) -> Script:
        """Close; when the server closed first, with RST, so its side skips TIME_WAIT.

        A server without SO_REUSEADDR (the textbook's) could not be restarted on its port for a
        minute otherwise. Before the server's EOF a plain close is used: an RST then could
        crash a server that is still reading (a RESET ending sends one on purpose).
        """
        self._open.discard(conn)
        _answer((yield Close(conn, rst)), None, Tick)

    # ---------------------------------------------------------------- time

    @property
    def _timeout_error(self) -> str:
        return f"the exchange timeout ({self.plan.reply_timeout:.1f}s) ran out"

    def _cap(self, seconds: float) -> float:
        """A wait, shortened to what the caller's time limit still allows: no wait outlasts it."""
        if self.stop_at is None:
            return seconds
        return max(0.0, min(seconds, self.stop_at - self.now))

    @property
    def _stopped(self) -> bool:
        return self.stop_at is not None and self.now >= self.stop_at


def _answer(event: Event, conn: int | None, *kinds: type) -> Event:
    """The event, when it answers the action just asked for: anything else is the caller's bug."""
    if not isinstance(event, kinds) or (conn is not None and getattr(event, "conn", None) != conn):
        wanted = " or ".join(k.__name__ for k in kinds)
        where = f" for connection {conn}" if conn is not None else ""
        raise ValueError(f"expected {wanted}{where}, got {event}")
    return event


ONE_AT_A_TIME = Cause(
    "one-client-at-a-time",
    "the server serves one connection at a time, so a client that connects and sends nothing blocks every other: "
    "serve each connection in a thread of its own (threading.Thread, or socketserver.ThreadingTCPServer)",
)
ONE_RECV = Cause(
    "one-recv-per-request",
    "the server reads the request with one recv(), and TCP may deliver a line in pieces: keep calling recv() "
    "until the line's newline arrives (or b'' when the client closes its side), then reply",
)


def _stream_cause(record: ConnectionRecord) -> Cause | None:
    """What TCP teaches and the textbook server misses: a split line fools it."""
    stream, expected = record.plan.stream, record.plan.expected or b""
    if stream is None or len(stream.writes) < 2:
        return None
    partial = bool(record.reply) and expected.startswith(record.reply) and record.reply != expected
    cut_off = not record.reply and record.error is not None and "while sending" in record.error
    return ONE_RECV if partial or cut_off else None


def judge(tcp_plan: TcpPlan, records: list[ConnectionRecord]) -> Verdict:
    evidence = [_describe(r) for r in records]
    for record in records:
        expected = record.plan.expected
        if record.connect_error:
            # A full listen backlog on a busy machine drops the connection attempt: time decided it.
            return Verdict(
                False, f"connection {record.plan.index} failed: {record.connect_error}", evidence, timed=True
            )
        if expected is None:
            continue
        if record.blocked_by_idle:
            return Verdict(
                False,
                f"no reply on connection {record.plan.index} while the first client stayed silent: "
                "it came only once that client was closed",
                evidence,
                ONE_AT_A_TIME,
            )
        if not record.matched:
            request = record.plan.stream.data if record.plan.stream else b""
            if not record.reply:
                closed = record.error is None and record.closed_at is not None
                why = record.error or ("the server closed the connection without replying" if closed else "no reply")
                return Verdict(
                    False,
                    f"no reply on connection {record.plan.index}: {why}",
                    evidence,
                    _stream_cause(record),
                    timed=not closed,
                )
            what, cause = explain_wrong_reply(record.reply, expected, request)
            cause = _stream_cause(record) or cause
            return Verdict(False, f"wrong reply on connection {record.plan.index}: {what}", evidence, cause)
        if tcp_plan.expect_close and record.closed_at is None:
            return Verdict(
                False,
                f"the server did not close connection {record.plan.index} after replying",
                evidence,
                Cause("never-closes", "close the connection socket after sending the reply"),
                timed=True,
            )
    return Verdict(True, f"{sum(1 for r in records if r.plan.expected is not None)} replies correct", evidence)


def _describe(record: ConnectionRecord) -> str:
    plan = record.plan
    sent = f"sent {show(plan.stream.data)} as {plan.stream}" if plan.stream else "stayed silent"
    parts = [f"connection {plan.index}: {sent}"]
    if plan.expected is not None:
        parts.append(f"expected {show(plan.expected)}")
    if record.reply or record.replied_at is not None:
        when = f" at {record.replied_at:.3f}s" if record.replied_at is not None else ""
        parts.append(f"got {show(record.reply)}{when}")
    if record.closed_at is not None:
        parts.append(f"server closed at {record.closed_at:.3f}s")
    if record.error:
        parts.append(record.error)
    return "; ".join(parts + record.notes)


def run(check: ServerCheck) -> Verdict:
    tcp_plan = plan(check.check.params, check.transform, check.seed)
    machine = TcpClientMachine(tcp_plan, stop_at=check.deadline.remaining())
    recorder = Recorder(machine)
    netio.play_tcp(
        recorder,
        check.server.address("tcp"),
        check.server.unread_bytes,
        check.server.make_socket,
        check.server.released,
        check.server.watch_blocked,
    )
    verdict = judge(tcp_plan, machine.records)
    verdict.steps = stream_steps(recorder.log, planned_writes(tcp_plan))
    return verdict


def planned_writes(tcp_plan: TcpPlan) -> dict[int, int]:
    """Each connection's count of writes, so a diagram can say "piece 2 of 3"."""
    every = (*tcp_plan.connections, *((tcp_plan.probe,) if tcp_plan.probe else ()))
    return {c.index: len(c.stream.writes) for c in every if c.stream is not None}


KIND = Kind("tcp_exchange", frozenset({Role.TCP_SERVER}), TcpExchangeParams, run)
