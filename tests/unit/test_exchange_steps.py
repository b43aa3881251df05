"""Exchanges as the arrows of their sequence diagrams, from what each kind's machine recorded: no sockets."""

from __future__ import annotations

import base64

import pytest

from grader.model import MAX_STEPS, Sender, Step
from grader.scenarios.client_exchange import exchange_steps as client_steps
from grader.scenarios.common import show
from grader.scenarios.stream_steps import Recorder, stream_steps
from grader.scenarios.tcp_exchange import TcpClientMachine, TcpExchangeParams, planned_writes
from grader.scenarios.tcp_exchange import plan as tcp_plan
from grader.scenarios.tcp_two_requests import TwoRequestsMachine, TwoRequestsParams
from grader.scenarios.tcp_two_requests import plan as two_plan
from grader.scenarios.udp_exchange import UdpClientMachine, UdpExchangeParams, exchange_steps, plan
from grader.scripted_server import uppercase
from grader.tcp_actions import (
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

SEED = 2026

# ------------------------------------------------------------------ udp_exchange


def udp_machine(**params) -> UdpClientMachine:
    return UdpClientMachine(plan(UdpExchangeParams(**params), uppercase, SEED))


def play_udp(m: UdpClientMachine, start: float = 0.0, reply=uppercase, latency: float = 0.01) -> None:
    """A fake server on a fake clock: a datagram the schedule drops never arrives, any other is answered."""
    now = start
    for _ in range(10_000):
        for send in m.poll(now):
            if m.plan.schedule.fate(send.request.index, send.attempt).action.value != "drop":
                m.receive(send.request.client, reply(send.request.payload), now + latency)
        if m.finished(now):
            return
        wake = m.next_wakeup(now)
        now = now + latency if wake is None else wake  # None: answered, the next request goes after the reply
    raise AssertionError("the machine never finished")


def test_a_dropped_first_send_and_its_retry_show_as_two_arrows_then_the_reply():
    m = udp_machine(drop_messages=(0,), retries=1, reply_timeout=1.0)
    play_udp(m)
    steps = exchange_steps(m)
    assert [(s.sender, s.fate) for s in steps] == [
        (Sender.GRADER, "dropped"),
        (Sender.GRADER, "delivered"),
        (Sender.PROGRAM, "delivered"),
    ]
    assert "attempt 2" in steps[1].note and steps[1].at == pytest.approx(0.0)  # sent at once: no reply could come
    assert steps[2].note == "matched request 0"


def test_times_count_from_the_first_send_not_from_the_clock():
    m = udp_machine(messages=2)
    play_udp(m, start=500.0)
    assert exchange_steps(m)[0].at == 0.0
    assert all(0 <= s.at < 1 for s in exchange_steps(m))


def test_each_arrow_carries_the_datagram_as_text():
    m = udp_machine(payload="non_ascii")
    play_udp(m)
    sent, reply = exchange_steps(m)
    request = m.plan.requests[0].payload
    assert (sent.text, reply.text) == (show(request, 48), show(uppercase(request), 48))
    assert "\\x" not in sent.text  # é and ß read as the student typed them


def test_a_reply_that_matches_no_request_is_called_a_wrong_reply_and_the_request_unanswered():
    m = udp_machine(reply_timeout=0.5)
    play_udp(m, reply=lambda payload: payload)  # an echo server
    sent, reply = exchange_steps(m)
    assert reply.note == "wrong reply" and "no reply in 0.5 s" in sent.note


def test_a_datagram_from_another_socket_says_where_it_came_from():
    m = udp_machine(reply_timeout=0.5)
    m.poll(0.0)
    m.receive(0, b"HELLO", 0.1, ("127.0.0.2", 40000))
    assert exchange_steps(m)[1].note == "from another socket (127.0.0.2:40000)"


@pytest.mark.parametrize(
    ("params", "fate"),
    [({"duplicate_messages": (0,)}, "duplicated"), ({"hold": (0,), "messages": 2, "burst": True}, "held")],
)
def test_an_impaired_send_carries_what_the_schedule_did_to_it(params, fate):
    m = udp_machine(**params)
    play_udp(m)
    assert exchange_steps(m)[0].fate == fate


def test_a_long_exchange_is_cut_to_max_steps_in_time_order():
    m = udp_machine(messages=300, burst=True)
    play_udp(m)
    steps = exchange_steps(m)
    assert len(steps) == MAX_STEPS and [s.at for s in steps] == sorted(s.at for s in steps)


def test_an_exchange_that_sent_nothing_has_no_steps():
    assert exchange_steps(udp_machine()) == []


# ------------------------------------------------------------------ tcp_exchange and tcp_two_requests


class FakeStream:
    """Answers each action at once on a fake clock: the reply is the request upper-cased, then EOF.

    `unread` is what every AskUnread hears: 0, a server that reads at once; more, one that never seems to.
    """

    def __init__(self, latency: float = 0.01, reply=uppercase, unread: int = 0):
        self.now, self.latency, self.reply, self.unread = 0.0, latency, reply, unread
        self.sent: dict[int, bytes] = {}
        self.answered: set[int] = set()

    def answer(self, action) -> Event:
        match action:
            case Connect(conn):
                self.sent[conn] = b""
                return Connected(conn, self.now)
            case Send(conn, data):
                self.sent[conn] += data
                return Sent(conn, self.now)
            case HalfClose(conn):
                return Sent(conn, self.now)
            case AskUnread(conn):
                return UnreadBytes(conn, self.unread, self.now)
            case Pause(seconds):
                self.now += seconds
                return Tick(self.now)
            case Read(conn):
                self.now += self.latency
                if conn in self.answered:
                    return Eof(conn, self.now)
                self.answered.add(conn)
                return Received(conn, self.reply(self.sent[conn]), self.now)
            case Close():
                return Tick(self.now)
        raise AssertionError(f"unexpected action {action}")


def record(machine, server: FakeStream) -> Recorder:
    recorder = Recorder(machine)
    action = recorder.start(server.now)
    for _ in range(10_000):
        if isinstance(action, Done):
            return recorder
        action = recorder.handle(server.answer(action))
    raise AssertionError("no Done")


def test_a_request_in_three_pieces_shows_each_piece_then_the_reply_then_the_close():
    tcp = tcp_plan(TcpExchangeParams(pieces=3, pause=0.05), uppercase, SEED)
    recorder = record(TcpClientMachine(tcp), FakeStream())
    steps = stream_steps(recorder.log, planned_writes(tcp))
    assert steps[0].text == "connect" and steps[-1].text == "close"
    assert [s.note for s in steps if s.sender is Sender.GRADER][1:4] == [f"piece {i} of 3" for i in (1, 2, 3)]
    reply = next(s for s in steps if s.sender is Sender.PROGRAM)
    assert reply.text == show(uppercase(tcp.connections[0].stream.data), 48)
    assert [s.at for s in steps] == sorted(s.at for s in steps)


def test_several_connections_say_which_each_arrow_is_on():
    tcp = tcp_plan(TcpExchangeParams(clients=2), uppercase, SEED)
    recorder = record(TcpClientMachine(tcp), FakeStream())
    notes = [s.note for s in stream_steps(recorder.log, planned_writes(tcp))]
    assert "connection 0" in notes[0] and any("connection 1" in n for n in notes)


def test_a_refused_connection_a_silent_server_and_a_reset_read_as_such():
    log = [
        (Connect(0, 2.0, True), ConnectFailed(0, "connection refused", 10.0)),
        (Connect(1, 2.0, True), Connected(1, 10.1)),
        (Send(1, b"hello", 2.0), Sent(1, 10.1)),
        (Read(1, 2.0), TimedOut(1, 12.1)),
        (Read(1, 2.0), Error(1, "connection reset by the server", 12.2)),
    ]
    steps = stream_steps(log)
    assert [(s.text, s.fate) for s in steps] == [
        ("connect", "failed"),
        ("connect", "delivered"),
        ('"hello" (5 bytes)', "delivered"),
        ("(nothing)", "silent"),
        ("reset", "delivered"),
    ]
    assert (steps[0].at, steps[3].at) == (0.0, pytest.approx(2.1))  # from the first step, not the clock
    assert "no reply in 2 s" in steps[3].note and "reset by the server" in steps[4].note


def test_a_server_seen_blocked_forever_reads_as_silent_and_says_how():
    log = [
        (Connect(0, 2.0, True), Connected(0, 0.0)),
        (Send(0, b"hello", 2.0), Sent(0, 0.0)),
        (Read(0, 2.0, until_stuck=True), Stuck(0, "blocked in recv() on a socket with no timeout", 0.4)),
    ]
    (*_, step) = stream_steps(log)
    assert (step.text, step.fate, step.at) == ("(nothing)", "silent", 0.4)
    assert step.note == "no reply: blocked in recv() on a socket with no timeout"


def test_two_requests_on_one_connection_show_both_sends_and_the_servers_close():
    machine = TwoRequestsMachine(two_plan(TwoRequestsParams(), uppercase, SEED))
    server = FakeStream()
    server.answered = set()
    recorder = record(machine, server)
    texts = [(s.sender, s.text) for s in stream_steps(recorder.log)]
    assert texts[0] == (Sender.GRADER, "connect")
    assert sum(1 for sender, _ in texts if sender is Sender.GRADER and _.startswith('"')) == 2
    assert (Sender.PROGRAM, "close (FIN)") in texts  # the one-request server closed after its first reply


def test_a_server_slow_to_read_many_slices_still_gets_its_reply_drawn():
    """Each slice waits up to READ_WAIT in polls; kept, those polls would fill the log before the reply."""
    tcp = tcp_plan(TcpExchangeParams(pieces=10, pause=0.01), uppercase, SEED)
    recorder = record(TcpClientMachine(tcp), FakeStream(unread=7))
    assert not [a for a, _ in recorder.log if isinstance(a, AskUnread | Pause)]
    steps = stream_steps(recorder.log, planned_writes(tcp))
    assert [s.sender for s in steps].count(Sender.PROGRAM) == 1 and len(steps) == 13


def test_the_recorder_hands_back_the_machines_actions_unchanged():
    tcp = tcp_plan(TcpExchangeParams(), uppercase, SEED)
    plain, server = TcpClientMachine(tcp), FakeStream()
    recorded = record(TcpClientMachine(tcp), FakeStream())
    action, actions = plain.start(0.0), []
    while not isinstance(action, Done):
        actions.append(action)
        action = plain.handle(server.answer(action))
    assert [a for a, _ in recorded.log] == actions


# ------------------------------------------------------------------ client_exchange


def data(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_udp_client_run_under_drop_first_shows_the_lost_datagram_the_retry_and_the_reply():
    events = [
        {"event": "ready", "t": 0.1},
        {"event": "datagram", "t": 1.0, "size": 5, "data": data(b"hello")},
        {"event": "datagram", "t": 2.0, "size": 5, "data": data(b"hello")},
        {"event": "reply", "t": 2.001, "size": 5, "data": data(b"HELLO"), "from_port": 12000},
        {"event": "end", "t": 9.0, "reason": "lifetime"},
    ]
    steps = client_steps(events, "drop_first")
    assert [(s.sender, s.fate) for s in steps] == [
        (Sender.PROGRAM, "dropped"),
        (Sender.PROGRAM, "delivered"),
        (Sender.GRADER, "delivered"),
    ]
    assert steps[0].at == 0.0 and steps[1].at == pytest.approx(1.0) and steps[2].text == '"HELLO" (5 bytes)'


def test_a_tcp_client_run_with_a_sliced_reply_numbers_the_pieces():
    events = [
        {"event": "connect", "t": 0.5, "conn": 0},
        {"event": "data", "t": 0.51, "conn": 0, "size": 6, "data": data(b"hello\n")},
        *(
            {"event": "reply", "t": 0.6 + i / 10, "conn": 0, "size": 2, "data": data(b"HE"), "piece": i}
            for i in range(3)
        ),
        {"event": "close", "t": 1.0, "conn": 0},
    ]
    steps = client_steps(events, "slices")
    assert [s.note for s in steps if s.sender is Sender.GRADER][:3] == ["piece 1", "piece 2", "piece 3"]
    assert (steps[0].text, steps[-1].text) == ("connect", "close")


@pytest.mark.parametrize(
    ("behaviour", "fates"), [("reply_twice", ["delivered", "repeated"]), ("reply_late", ["delayed", "delayed"])]
)
def test_a_scripted_reply_sent_twice_or_late_carries_that_fate(behaviour, fates):
    events = [
        {"event": "datagram", "t": 1.0, "size": 2, "data": data(b"hi")},
        {"event": "reply", "t": 1.8, "size": 2, "data": data(b"HI"), "from_port": 12000},
        {"event": "reply", "t": 1.9, "size": 2, "data": data(b"HI"), "from_port": 12000},
    ]
    assert [s.fate for s in client_steps(events, behaviour)[1:]] == fates


def test_only_a_wrong_port_reply_says_which_port_it_came_from():
    events = [{"event": "reply", "t": 0.0, "size": 2, "data": data(b"HI"), "from_port": 12001}]
    assert client_steps(events, "wrong_port")[0].note == "from port 12001, not the one it was sent to"
    assert client_steps(events, "normal")[0].note == ""


def test_an_event_log_a_program_could_garble_never_breaks_the_steps():
    events = [{"event": "datagram"}, {"event": "data", "t": 0.0, "data": "***"}, "junk", {"t": 1.0}]
    assert client_steps(events, "normal") == [Step(0.0, Sender.PROGRAM, "(? bytes)")]  # type: ignore[arg-type]


def test_a_client_that_never_reached_the_server_has_no_steps():
    assert client_steps([{"event": "ready", "t": 0.0}, {"event": "end", "t": 6.0}], "normal") == []
