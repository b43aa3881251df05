"""The `udp_exchange` kind: what a scripted client sends a UDP server, when it retransmits, how replies are judged.

Pure but for `run`: the I/O layer (grader.netio) feeds datagrams and the clock into
UdpClientMachine and sends what it asks for. Replies are matched to requests by content,
never by arrival order, so duplication and reordering cannot confuse the grader.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from grader import netio
from grader.impair import Action, DatagramProfile, DatagramSchedule
from grader.model import MAX_STEPS, Cause, Role, Sender, Step
from grader.scenarios.common import (
    MIN_LENGTH,
    PAYLOADS,
    Transform,
    Verdict,
    explain_wrong_reply,
    make_payloads,
    reply_key,
    same_reply,
    show,
)
from grader.scenarios.kind import Kind, ServerCheck


@dataclass(frozen=True)
class UdpExchangeParams:
    clients: int = 1  # client sockets, each with its own source port
    messages: int = 1  # per client; clients take turns
    payload: str = "words"  # words | non_ascii | non_utf8 | empty
    length: int = 0  # pad each line to exactly this many bytes (0: natural length)
    burst: bool = False  # send everything before waiting (otherwise one request at a time)
    expect_reply: bool = True  # False: the server only has to survive this input
    probe_after: bool = False  # then a plain request must still be answered
    drop: float = 0.0  # seeded impairment of the path to the server
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    hold: tuple[int, ...] = ()  # these messages are held until the next one passes
    duplicate_messages: tuple[int, ...] = ()
    drop_messages: tuple[int, ...] = ()  # first sends always lost, so every seed exercises loss
    retries: int = 0  # retransmissions of an unanswered request, as a reliable client does
    reply_timeout: float = 1.0  # per attempt

    def __post_init__(self) -> None:
        if self.payload not in PAYLOADS:
            raise ValueError(f"payload must be one of {', '.join(PAYLOADS)}, not {self.payload!r}")
        if not 1 <= self.clients <= 16 or not 1 <= self.messages <= 1000:
            raise ValueError("clients must be 1..16 and messages 1..1000")
        if not 0 < self.reply_timeout <= 10:
            raise ValueError("reply_timeout must be in (0, 10] seconds")
        if self.length and not MIN_LENGTH <= self.length <= 65507:
            raise ValueError(f"length must be 0 (natural) or {MIN_LENGTH}..65507 bytes (the largest UDP payload)")
        DatagramProfile(self.drop, self.duplicate, self.delay, self.reorder)  # validates the rates


@dataclass(frozen=True)
class Request:
    index: int  # message number, the key of the impairment schedule
    client: int
    payload: bytes
    expected: bytes | None  # None: no reply required


@dataclass(frozen=True)
class UdpPlan:
    clients: int
    requests: tuple[Request, ...]
    burst: bool
    retries: int
    reply_timeout: float
    schedule: DatagramSchedule

    @cached_property
    def answers(self) -> dict[tuple[int, bytes], list[int]]:
        """The requests, by (socket, reply_key of the expected reply), in order: what a datagram back answers.

        A lookup instead of a comparison with every request: a burst of 200 would cost 40,000.
        """
        found: dict[tuple[int, bytes], list[int]] = {}
        for request in self.requests:
            if request.expected is not None:
                found.setdefault((request.client, reply_key(request.expected)), []).append(request.index)
        return found

    @property
    def budget(self) -> float:
        """Longest the exchange may take: every attempt of every request timing out."""
        per_request = (self.retries + 1) * self.reply_timeout
        return per_request * (1 if self.burst else len(self.requests)) + 0.5


def plan(params: UdpExchangeParams, transform: Transform, seed: int) -> UdpPlan:
    per_client = [
        make_payloads(params.payload, params.messages, seed, f"c{c}", params.length) for c in range(params.clients)
    ]
    requests: list[Request] = []
    for i in range(params.messages):
        for c in range(params.clients):  # interleaved: c0 m0, c1 m0, c0 m1, ...
            payload = per_client[c][i]
            expected = transform(payload) if params.expect_reply else None
            requests.append(Request(len(requests), c, payload, expected))
    if params.probe_after:
        probe = make_payloads("words", 1, seed, "probe")[0]
        requests.append(Request(len(requests), 0, probe, transform(probe)))
    scripted = (
        {(m, 0): Action.HOLD for m in params.hold}
        | {(m, 0): Action.DUPLICATE for m in params.duplicate_messages}
        | {(m, 0): Action.DROP for m in params.drop_messages}
    )
    profile = DatagramProfile(params.drop, params.duplicate, params.delay, params.reorder)
    schedule = DatagramSchedule.explicit(scripted, seed=seed, profile=profile)
    return UdpPlan(params.clients, tuple(requests), params.burst, params.retries, params.reply_timeout, schedule)


@dataclass(frozen=True)
class Send:
    request: Request
    attempt: int


@dataclass
class Received:
    client: int
    data: bytes
    at: float
    foreign_source: tuple[str, int] | None = None  # set when it came from anywhere but the server's address


class UdpClientMachine:
    """The scripted client's decisions: what to send next, when to retransmit, when it is done.

    Lock-step (the default) sends one request and waits for its reply or its last timeout;
    burst sends them all at once. A request with no expected reply (the server only has to
    survive it) is sent once and given one reply_timeout. An attempt the schedule drops on
    the way to the server can bring no reply, so the next one is due at once: the server
    sees the same datagrams as if the grader had waited, and the check costs no idle time.
    """

    def __init__(self, plan: UdpPlan):
        self.plan = plan
        self.sent: list[tuple[Send, float]] = []
        self.received: list[Received] = []
        self._attempts: dict[int, int] = {}
        self._last_sent: dict[int, float] = {}
        self._dropped: set[int] = set()  # requests whose latest attempt the schedule dropped
        self._answered: set[int] = set()
        # Sent and not yet answered, in sending order: the only requests a reply or a timer
        # can still concern, so each exchange costs the same however many came before it.
        self._unanswered: dict[int, Request] = {}
        self._next = 0

    def poll(self, now: float) -> list[Send]:
        """Retransmissions that are due, then new requests the window allows."""
        sends = [
            self._record(Send(req, self._attempts[req.index]), now)
            for req in self._open(now)
            if self._waited(req, now) and self._attempts[req.index] < self._max_attempts(req)
        ]
        window = len(self.plan.requests) if self.plan.burst else 1
        open_now = len(self._open(now))
        while self._next < len(self.plan.requests) and open_now < window:
            req = self.plan.requests[self._next]
            sends.append(self._record(Send(req, 0), now))
            self._unanswered[req.index] = req
            self._next += 1
            open_now += self._is_open(req, now)
        return sends

    def receive(self, client: int, data: bytes, now: float, foreign_source: tuple[str, int] | None = None) -> None:
        """A datagram from anywhere but the address the requests went to answers nothing:
        a client that connect()s its socket, or checks what recvfrom returned, never sees it."""
        self.received.append(Received(client, data, now, foreign_source))
        if foreign_source is not None:
            return
        matched = [i for i in self.plan.answers.get((client, reply_key(data)), ()) if i in self._unanswered]
        for index in matched:
            self._answered.add(index)
            del self._unanswered[index]

    def next_wakeup(self, now: float) -> float | None:
        times = [self._last_sent[r.index] + self._patience(r) for r in self._open(now)]
        return min(times) if times else None

    def finished(self, now: float) -> bool:
        return self._next >= len(self.plan.requests) and not self._open(now)

    def answered(self, req: Request) -> bool:
        return req.index in self._answered

    def _max_attempts(self, req: Request) -> int:
        return self.plan.retries + 1 if req.expected is not None else 1

    def _open(self, now: float) -> list[Request]:
        """Sent, unanswered, and with an attempt or a wait left."""
        return [req for req in self._unanswered.values() if self._is_open(req, now)]

    def _is_open(self, req: Request, now: float) -> bool:
        """For a sent, unanswered request: an attempt or a wait is left."""
        return self._attempts[req.index] < self._max_attempts(req) or not self._waited(req, now)

    def _waited(self, req: Request, now: float) -> bool:
        # A hair of slack: the driver wakes at next_wakeup(), and the float sum that produced
        # it can land a rounding error short of a full reply_timeout.
        return now - self._last_sent[req.index] >= self._patience(req) - 1e-9

    def _patience(self, req: Request) -> float:
        """How long the latest attempt of `req` is given for its reply."""
        return 0.0 if req.index in self._dropped else self.plan.reply_timeout

    def _record(self, send: Send, now: float) -> Send:
        index = send.request.index
        self._attempts[index] = send.attempt + 1
        self._last_sent[index] = now
        if self.plan.schedule.fate(index, send.attempt).action is Action.DROP:
            self._dropped.add(index)
        else:
            self._dropped.discard(index)
        self.sent.append((send, now))
        return send


def impairment_note(machine: UdpClientMachine) -> str:
    """The schedule as it was played: only the sends that were made, the impaired ones named."""
    schedule = machine.plan.schedule
    fates = [schedule.fate(send.request.index, send.attempt) for send, _ in machine.sent]
    impaired = [f"{f.label} {f.verb}" for f in fates if f.action is not Action.DELIVER]
    shown = ", ".join(impaired[:12]) + (f", +{len(impaired) - 12} more" if len(impaired) > 12 else "")
    return f"seed {schedule.seed} ({schedule.profile}): " + (f"impaired {shown}" if impaired else "no send impaired")


def judge(machine: UdpClientMachine) -> Verdict:
    """Pass when every request that needs a reply got the right one on its own socket."""
    plan = machine.plan
    missing = [r for r in plan.requests if r.expected is not None and not machine.answered(r)]
    evidence = [
        f"impairment: {impairment_note(machine)}",
        f"sent {len(machine.sent)} datagrams for {len(plan.requests)} requests "
        f"from {plan.clients} socket(s); received {len(machine.received)}",
    ]
    if not missing:
        return Verdict(True, f"all {len(plan.requests)} requests answered correctly", evidence)

    first = missing[0]
    attempts = sum(1 for s, _ in machine.sent if s.request.index == first.index)
    evidence.append(
        f"request {first.index} from socket {first.client}: sent {show(first.payload)} "
        f"{attempts} time(s), expected {show(first.expected or b'')}"
    )
    # A datagram is stray when it answers nothing its own socket asked; it explains a
    # missing reply when it is on this request's socket, or is this request's reply on another.
    stray = [
        r
        for r in machine.received
        if not any(
            same_reply(r.data, q.expected) for q in plan.requests if q.expected is not None and q.client == r.client
        )
        and (r.client == first.client or same_reply(r.data, first.expected or b""))
    ]
    summary = f"{len(missing)} of {len(plan.requests)} requests got no correct reply"
    cause = None
    foreign = [r for r in machine.received if r.foreign_source is not None]
    if foreign:
        host, port = foreign[0].foreign_source  # type: ignore[misc]
        evidence.append(f"got {show(foreign[0].data)} from {host}:{port}, not from the address the request went to")
        summary = f"the replies came from another socket ({host}:{port}), not from the server's port"
        cause = Cause(
            "reply-wrong-socket",
            "reply with the socket that received the request (serverSocket.sendto(reply, clientAddress)), "
            "so the reply comes from the port the client sent to",
        )
    elif stray:
        what, cause = explain_wrong_reply(stray[0].data, first.expected or b"", first.payload)
        if cause is None:  # reordered: the stray may answer another request, wrongly in a way that is recognised
            cause = next(
                (
                    found
                    for q in plan.requests
                    if q.expected is not None
                    for _, found in [explain_wrong_reply(stray[0].data, q.expected, q.payload)]
                    if found is not None
                ),
                None,
            )
        evidence.append(f"got {show(stray[0].data)} at {stray[0].at:.3f}s: {what}")
        misdirected = stray[0].client != first.client or any(
            q.client != first.client and q.expected is not None and same_reply(stray[0].data, q.expected)
            for q in plan.requests
        )
        if misdirected:
            cause = Cause(
                "reply-wrong-client",
                "replies go to the wrong client: answer each datagram to the address recvfrom returned",
            )
        summary = f"wrong reply to request {first.index}: {what}"
    elif not machine.received:
        summary = "no reply at all"
        evidence.append(f"nothing came back within the exchange timeout ({plan.reply_timeout:.1f}s per attempt)")
        return Verdict(False, summary, evidence, cause, timed=True)
    else:
        summary = f"no reply to request {first.index} ({len(missing)} of {len(plan.requests)} unanswered)"
        evidence.append(f"nothing came back for it within the exchange timeout ({plan.reply_timeout:.1f}s per attempt)")
        return Verdict(False, summary, evidence, cause, timed=True)
    return Verdict(False, summary, evidence, cause)


def run(check: ServerCheck) -> Verdict:
    machine = UdpClientMachine(plan(check.check.params, check.transform, check.seed))
    netio.play_udp(machine, check.server.address("udp"), check.deadline.at, check.server.make_socket)
    verdict = judge(machine)
    verdict.steps = exchange_steps(machine)
    return verdict


# What each impairment did to a send, in the words of a diagram's arrow.
FATES = {
    Action.DELIVER: "delivered",
    Action.DROP: "dropped",
    Action.DUPLICATE: "duplicated",
    Action.DELAY: "delayed",
    Action.HOLD: "held",
}


def exchange_steps(machine: UdpClientMachine) -> list[Step]:
    """Every send with its fate and every datagram back, in time order from the first send; at most MAX_STEPS."""
    if not machine.sent:
        return []
    start = machine.sent[0][1]
    plan = machine.plan
    many = plan.clients > 1
    last_attempt = {send.request.index: send.attempt for send, _ in machine.sent}
    timed: list[tuple[float, int, Step]] = []
    for order, (send, at) in enumerate(machine.sent):
        request = send.request
        fate = plan.schedule.fate(request.index, send.attempt)
        notes = [f"request {request.index}", f"attempt {send.attempt + 1}" if send.attempt else ""]
        notes += [f"socket {request.client}" if many else "", fate.verb if fate.action is Action.DELAY else ""]
        if (
            request.expected is not None
            and not machine.answered(request)
            and last_attempt[request.index] == send.attempt
            and fate.action is not Action.DROP  # a dropped send was given no time: no reply could come
        ):
            notes.append(f"no reply in {plan.reply_timeout:g} s")
        step = Step(at - start, Sender.GRADER, show(request.payload, SHOWN_BYTES), FATES[fate.action], _join(notes))
        timed.append((at, order, step))
    for order, got in enumerate(machine.received, start=len(machine.sent)):
        timed.append(
            (
                got.at,
                order,
                Step(got.at - start, Sender.PROGRAM, show(got.data, SHOWN_BYTES), note=_reply_note(plan, got)),
            )
        )
    timed.sort(key=lambda item: (item[0], item[1]))
    return [step for _, _, step in timed[:MAX_STEPS]]


SHOWN_BYTES = 48  # of each datagram, so that an arrow's label stays near 60 characters


def _reply_note(plan: UdpPlan, got: Received) -> str:
    """What the grader made of a datagram back: which request it answers, or why it answers none."""
    if got.foreign_source is not None:
        host, port = got.foreign_source
        return f"from another socket ({host}:{port})"
    matches = plan.answers.get((got.client, reply_key(got.data)), [])
    where = f"socket {got.client}, " if plan.clients > 1 else ""
    return f"{where}matched request {matches[0]}" if matches else f"{where}wrong reply"


def _join(notes: list[str]) -> str:
    return ", ".join(note for note in notes if note)


KIND = Kind("udp_exchange", frozenset({Role.UDP_SERVER}), UdpExchangeParams, run)
