"""TCP server scenarios: which connections a scripted client opens, what it writes, how it judges.

Pure: grader.netio plays the plan over real sockets and fills in ConnectionRecords; `judge`
reads them. A reply is complete when it matches the expected bytes, or when the server
closes, or when the reply timeout runs out: never "whatever one recv returned".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.impair import Ending, StreamPlan, slice_stream
from grader.model import Role
from grader.scenarios.common import MIN_LENGTH, PAYLOADS, Transform, Verdict, explain_wrong_reply, make_payloads, same_reply, show
from grader.scenarios.kind import Kind, ServerCheck

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
        per = self.reply_timeout + self.close_timeout + sum(
            w.pause_before for c in self.connections if c.stream for w in c.stream.writes)
        return per * (len(self.connections) + 1) + 1.0


def plan(params: TcpExchangeParams, transform: Transform, seed: int) -> TcpPlan:
    payloads = make_payloads(params.payload, params.clients, seed, "tcp", params.length)
    ending = Ending(params.ending)
    connections: list[ConnectionPlan] = []
    if params.idle_first:
        connections.append(ConnectionPlan(0, None, None))
    for i, payload in enumerate(payloads):
        stream = (slice_stream(payload, params.pieces, params.pause, seed + i)
                  if params.pieces > 1 else StreamPlan.whole(payload).writes)
        expected = transform(payload) if params.expect_reply and ending is not Ending.RESET else None
        connections.append(ConnectionPlan(len(connections), StreamPlan(stream, ending), expected))
    probe = None
    if params.probe_after:
        line = make_payloads("words", 1, seed, "probe")[0]
        probe = ConnectionPlan(len(connections), StreamPlan.whole(line), transform(line))
    return TcpPlan(tuple(connections), params.overlapping or params.idle_first, params.expect_close,
                   params.reply_timeout, params.close_timeout, probe)


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

    @property
    def matched(self) -> bool:
        return self.plan.expected is not None and same_reply(self.reply, self.plan.expected)


def judge(tcp_plan: TcpPlan, records: list[ConnectionRecord]) -> Verdict:
    evidence = [_describe(r) for r in records]
    for record in records:
        expected = record.plan.expected
        if record.connect_error:
            # A full listen backlog on a busy machine drops the connection attempt: time decided it.
            return Verdict(False, f"connection {record.plan.index} failed: {record.connect_error}", evidence,
                           timed=True)
        if expected is None:
            continue
        if not record.matched:
            request = record.plan.stream.data if record.plan.stream else b""
            if not record.reply:
                closed = record.error is None and record.closed_at is not None
                why = record.error or ("the server closed the connection without replying" if closed else "no reply")
                return Verdict(False, f"no reply on connection {record.plan.index}: {why}", evidence,
                               timed=not closed)
            what, hint = explain_wrong_reply(record.reply, expected, request)
            return Verdict(False, f"wrong reply on connection {record.plan.index}: {what}", evidence, hint)
        if tcp_plan.expect_close and record.closed_at is None:
            return Verdict(False, f"the server did not close connection {record.plan.index} after replying",
                           evidence, "close the connection socket after sending the reply", timed=True)
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
    from grader import netio  # netio still builds the records: see the TCP machine

    tcp_plan = plan(check.check.params, check.transform, check.seed)
    records = netio.play_tcp(tcp_plan, check.server.address("tcp"), check.deadline.at, check.server.unread_bytes,
                             check.server.make_socket)
    return judge(tcp_plan, records)


KIND = Kind("tcp_exchange", frozenset({Role.TCP_SERVER}), TcpExchangeParams, run)
