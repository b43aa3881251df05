"""The scripted TCP client's decisions, on a fake clock: no socket, no sleep.

A FakeServer answers each action the machine asks for, as a server would, and moves the
clock only where a real wait would take time (a pause, a read that waits for data).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from grader.scenarios.tcp_exchange import (
    MAX_REPLY,
    READ_POLL,
    READ_WAIT,
    STOPPED,
    ConnectionRecord,
    TcpClientMachine,
    TcpExchangeParams,
    judge,
    plan,
)
from grader.scripted_server import uppercase
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

SEED = 11
MAX_STEPS = 100_000  # a machine that never says Done fails the test instead of hanging it


@dataclass
class FakeServer:
    """A peer on a fake clock that answers every action at once, the way a server would.

    `reply` turns what a connection sent into the chunks of its reply; each chunk comes
    `latency` after the previous one (the first after the first read began). `unread_for`
    is how long each write stays unread (None: never read); `reads_seen` False answers
    every AskUnread with "cannot be seen".
    """

    reply: Callable[[bytes], list[bytes]] = lambda request: [uppercase(request)]
    latency: float = 0.01
    closes: bool = False  # EOF after the last chunk
    refused: frozenset[int] = frozenset()
    send_error: frozenset[int] = frozenset()  # connections whose writes meet a closed peer
    unread_for: float | None = 0.0
    reads_seen: bool = True
    serves_one_at_a_time: bool = False  # no other connection is answered while connection 0 is open
    gone: bool = False  # the server closed its end at once: AskUnread hears NeverRead
    seen_stuck_after: float | None = None  # a Read(until_stuck) blocked by connection 0 ends this soon as Stuck
    now: float = 0.0
    log: list[tuple[float, Action]] = field(default_factory=list)
    requests: dict[int, bytes] = field(default_factory=dict)
    _pending: dict[int, list[tuple[float, bytes]]] = field(default_factory=dict)
    _written_at: dict[int, float] = field(default_factory=dict)
    _closed: set[int] = field(default_factory=set)

    def answer(self, action: Action) -> Event:
        self.log.append((self.now, action))
        match action:
            case Connect(conn):
                if conn in self.refused:
                    return ConnectFailed(conn, "connection refused (nothing listening)", self.now)
                self.requests[conn] = b""
                return Connected(conn, self.now)
            case Send(conn, data):
                if conn in self.send_error:
                    return Error(conn, "Broken pipe", self.now)
                self.requests[conn] += data
                self._written_at[conn] = self.now
                return Sent(conn, self.now)
            case HalfClose(conn):
                return Sent(conn, self.now)
            case AskUnread(conn) if self.gone:
                return NeverRead(conn, self.now)
            case AskUnread(conn):
                read = self.unread_for is not None and self.now >= self._written_at[conn] + self.unread_for
                return UnreadBytes(conn, (0 if read else 7) if self.reads_seen else None, self.now)
            case Pause(seconds):
                self.now += seconds
                return Tick(self.now)
            case Read(conn, timeout, until_stuck):
                return self._read(conn, timeout, until_stuck)
            case Close(conn):
                self._closed.add(conn)
                return Tick(self.now)
        raise AssertionError(f"unexpected action {action}")

    def _read(self, conn: int, timeout: float, until_stuck: bool) -> Event:
        if self.serves_one_at_a_time and conn != 0 and 0 not in self._closed:
            if until_stuck and self.seen_stuck_after is not None and self.seen_stuck_after < timeout:
                self.now += self.seen_stuck_after
                return Stuck(conn, "blocked in recv() on a socket with no timeout", self.now)
            self.now += timeout  # still blocked in recv() on connection 0
            return TimedOut(conn, self.now)
        if conn not in self._pending:
            chunks = self.reply(self.requests[conn])
            self._pending[conn] = [(self.now + self.latency * (i + 1), c) for i, c in enumerate(chunks)]
        pending = self._pending[conn]
        ready_at = pending[0][0] if pending else (self.now if self.closes else None)
        if ready_at is None or ready_at > self.now + timeout:
            self.now += timeout
            return TimedOut(conn, self.now)
        self.now = max(self.now, ready_at)
        if not pending:
            return Eof(conn, self.now)
        return Received(conn, pending.pop(0)[1], self.now)

    def actions(self, *kinds: type) -> list[Action]:
        return [a for _, a in self.log if isinstance(a, kinds)]

    def steps(self) -> list[tuple[str, int | None]]:
        """The log as (action, connection), pauses and polls left out: the order of what was done."""
        return [
            (type(a).__name__, getattr(a, "conn", None))
            for _, a in self.log
            if not isinstance(a, Pause | AskUnread | Done)
        ]


def play(
    params: TcpExchangeParams, server: FakeServer | None = None, stop_at: float | None = None, watch_reads: bool = True
) -> tuple[list[ConnectionRecord], FakeServer]:
    server = server or FakeServer()
    machine = TcpClientMachine(plan(params, uppercase, SEED), stop_at, watch_reads)
    action = machine.start(server.now)
    for _ in range(MAX_STEPS):
        if isinstance(action, Done):
            server.log.append((server.now, action))
            return machine.records, server
        action = machine.handle(server.answer(action))
    raise AssertionError(f"no Done after {MAX_STEPS} actions")


def verdict(params: TcpExchangeParams, records: list[ConnectionRecord]):
    return judge(plan(params, uppercase, SEED), records)


def halves(request: bytes) -> list[bytes]:
    reply = uppercase(request)
    return [reply[: len(reply) // 2], reply[len(reply) // 2 :]]


# ------------------------------------------------------------------ connection order


def test_connections_are_played_one_after_the_other():
    _, server = play(TcpExchangeParams(clients=3))

    assert server.steps() == [
        step for conn in range(3) for step in [("Connect", conn), ("Send", conn), ("Read", conn), ("Close", conn)]
    ]


def test_overlapping_connections_are_all_opened_before_the_first_request():
    _, server = play(TcpExchangeParams(clients=3, overlapping=True))

    assert server.steps()[:4] == [("Connect", 0), ("Connect", 1), ("Connect", 2), ("Send", 0)]


def test_the_idle_first_connection_opens_first_stays_silent_and_closes_last():
    records, server = play(TcpExchangeParams(idle_first=True, probe_after=True))

    steps = server.steps()
    assert steps[0] == ("Connect", 0)
    assert [s for s in steps if s[1] == 0] == [("Connect", 0), ("Close", 0)]
    assert steps[-1] == ("Close", 0)
    assert verdict(TcpExchangeParams(idle_first=True), records[:2]).passed


def test_the_probe_connection_comes_after_every_other_is_closed():
    records, server = play(TcpExchangeParams(clients=2, probe_after=True))

    assert server.steps()[-4:] == [("Connect", 2), ("Send", 2), ("Read", 2), ("Close", 2)]
    assert records[-1].notes == ["(probe: is the server still serving?)"]
    assert records[-1].matched


def test_a_connection_with_nodelay_asks_for_it_and_the_idle_one_does_not():
    _, server = play(TcpExchangeParams(idle_first=True))

    assert [(c.conn, c.nodelay) for c in server.actions(Connect)] == [(0, False), (1, True)]


# ------------------------------------------------------------------ sliced writes


def test_each_slice_waits_until_the_server_has_read_the_one_before():
    _, server = play(TcpExchangeParams(pieces=3, pause=0.05), FakeServer(unread_for=0.2))

    sends = [t for t, a in server.log if isinstance(a, Send)]
    assert len(sends) == 3
    assert all(later - earlier >= 0.2 + 0.05 for earlier, later in itertools.pairwise(sends))


@pytest.mark.parametrize(
    "server",
    [FakeServer(unread_for=None), FakeServer(unread_for=5.0), FakeServer(reads_seen=False)],
    ids=["never-read", "read-too-late", "unseen"],
)
def test_a_slice_that_stays_unread_is_waited_for_only_read_wait(server):
    _, server = play(TcpExchangeParams(pieces=2, pause=0.05), server)

    first, second = [t for t, a in server.log if isinstance(a, Send)]
    assert second - first == pytest.approx(READ_WAIT + 0.05, abs=2 * READ_POLL)


def test_without_a_way_to_see_reads_the_slices_only_pause():
    _, server = play(TcpExchangeParams(pieces=3, pause=0.05), FakeServer(unread_for=None), watch_reads=False)

    assert server.actions(AskUnread) == []
    assert [a.seconds for a in server.actions(Pause)] == [0.05, 0.05]


def test_a_slice_the_server_can_never_read_is_not_waited_for():
    _, server = play(TcpExchangeParams(pieces=3, pause=0.05), FakeServer(unread_for=None, gone=True))

    assert [a.seconds for a in server.actions(Pause)] == [0.05, 0.05]
    assert len(server.actions(AskUnread)) == 2


def test_the_first_slice_is_sent_without_a_wait():
    _, server = play(TcpExchangeParams(pieces=3, pause=0.05), FakeServer(unread_for=0.2))

    assert server.log[1][1] == Send(0, server.actions(Send)[0].data, 2.0)


# ------------------------------------------------------------------ when a reply is complete


def test_a_reply_is_complete_when_it_matches_not_at_the_first_recv():
    records, server = play(TcpExchangeParams(), FakeServer(reply=halves, latency=0.1))

    (record,) = records
    assert len(server.actions(Read)) == 2
    assert record.matched and record.replied_at == pytest.approx(0.2)


def test_after_a_matching_reply_the_machine_stops_reading_when_no_close_is_expected():
    records, server = play(TcpExchangeParams(), FakeServer(closes=True))

    assert len(server.actions(Read)) == 1
    assert records[0].closed_at is None


def test_with_expect_close_it_waits_for_the_servers_eof_after_the_reply():
    records, server = play(TcpExchangeParams(expect_close=True, close_timeout=1.5), FakeServer(closes=True))

    (record,) = records
    assert server.actions(Read)[-1].timeout == pytest.approx(1.5)
    assert record.closed_at is not None and record.closed_at >= record.replied_at
    assert verdict(TcpExchangeParams(expect_close=True), records).passed


def test_a_server_that_does_not_close_in_close_timeout_fails_expect_close():
    params = TcpExchangeParams(expect_close=True, close_timeout=1.5)
    records, server = play(params, FakeServer(closes=False))

    (record,) = records
    assert server.now == pytest.approx(record.replied_at + 1.5)
    assert verdict(params, records).summary == "the server did not close connection 0 after replying"


def test_a_silent_server_runs_out_the_reply_timeout():
    params = TcpExchangeParams(reply_timeout=1.5)
    records, server = play(params, FakeServer(reply=lambda _: []))

    assert server.now == pytest.approx(1.5)
    assert records[0].error == "the exchange timeout (1.5s) ran out"
    assert verdict(params, records).timed


def test_each_connection_gets_its_own_reply_timeout():
    _, server = play(TcpExchangeParams(clients=2, reply_timeout=1.0), FakeServer(reply=lambda _: []))

    assert [r.timeout for r in server.actions(Read)] == [1.0, 1.0]
    assert server.now == pytest.approx(2.0)


def test_a_server_that_closes_without_replying_is_told_apart_from_a_timeout():
    records, _ = play(TcpExchangeParams(), FakeServer(reply=lambda _: [], closes=True))

    assert records[0].closed_at == 0.0 and records[0].error is None
    assert verdict(TcpExchangeParams(), records).summary == (
        "no reply on connection 0: the server closed the connection without replying"
    )


def test_an_endless_reply_is_cut_off_at_max_reply():
    chunk = b"X" * 65536
    records, server = play(TcpExchangeParams(), FakeServer(reply=lambda _: [chunk] * (MAX_REPLY // len(chunk) + 5)))

    assert len(records[0].reply) == MAX_REPLY
    assert len(server.actions(Read)) == MAX_REPLY // len(chunk)
    assert records[0].error is None


# ------------------------------------------------------------------ failures and endings


def test_a_refused_connection_is_recorded_and_the_next_one_still_played():
    records, server = play(TcpExchangeParams(clients=2), FakeServer(refused=frozenset({0})))

    assert records[0].connect_error == "connection refused (nothing listening)"
    assert [a.conn for a in server.actions(Send)] == [1]
    assert records[1].matched


def test_a_failed_overlapping_connection_is_not_connected_again():
    _, server = play(TcpExchangeParams(clients=2, overlapping=True), FakeServer(refused=frozenset({0})))

    assert [a.conn for a in server.actions(Connect)] == [0, 1]
    assert [a.conn for a in server.actions(Send)] == [1]


def test_a_write_that_fails_is_a_sending_error_and_nothing_is_read():
    records, server = play(TcpExchangeParams(), FakeServer(send_error=frozenset({0})))

    assert records[0].error == "while sending: Broken pipe"
    assert server.actions(Read) == []
    assert server.actions(Close) == [Close(0, rst=False)]


def test_a_reset_ending_closes_with_rst_and_reads_nothing():
    _, server = play(TcpExchangeParams(ending="reset"))

    assert server.steps() == [("Connect", 0), ("Send", 0), ("Close", 0)]
    assert server.actions(Close) == [Close(0, rst=True)]


def test_a_half_close_ending_shuts_the_write_side_before_reading():
    _, server = play(TcpExchangeParams(ending="half_close"))

    assert server.steps() == [("Connect", 0), ("Send", 0), ("HalfClose", 0), ("Read", 0), ("Close", 0)]


@pytest.mark.parametrize(
    ("params", "server", "rst"),
    [
        (TcpExchangeParams(expect_close=True), FakeServer(closes=True), True),
        (TcpExchangeParams(), FakeServer(reply=lambda _: [], closes=True), True),
        (TcpExchangeParams(), FakeServer(closes=False), False),
        (TcpExchangeParams(), FakeServer(reply=lambda _: []), False),
    ],
    ids=["server-closed-after-reply", "server-closed-without-reply", "server-kept-it-open", "timed-out"],
)
def test_a_connection_closes_with_rst_exactly_when_the_server_closed_first(params, server, rst):
    _, server = play(params, server)

    assert server.actions(Close) == [Close(0, rst)]


# ------------------------------------------------------------------ the caller's stop time


def test_the_stop_time_cuts_a_read_short_as_stopped():
    records, server = play(TcpExchangeParams(reply_timeout=2.0), FakeServer(reply=lambda _: []), stop_at=0.5)

    assert server.actions(Read)[0].timeout == pytest.approx(0.5)
    assert records[0].error == STOPPED


def test_the_stop_time_cuts_a_sliced_request_before_its_next_slice():
    records, server = play(TcpExchangeParams(pieces=3, pause=0.3), FakeServer(), stop_at=0.2, watch_reads=False)

    assert len(server.actions(Send)) == 1
    assert records[0].error == STOPPED
    assert server.actions(Close) == [Close(0, rst=False)]


def test_past_the_stop_time_no_connection_is_attempted():
    records, server = play(TcpExchangeParams(clients=2, probe_after=True), stop_at=0.0)

    assert server.actions(Connect) == []
    assert [r.connect_error for r in records] == [STOPPED] * 3


def test_no_wait_the_machine_asks_for_outlasts_the_stop_time():
    stop_at = 0.3
    _, server = play(
        TcpExchangeParams(pieces=4, pause=0.05, reply_timeout=2.0), FakeServer(unread_for=None), stop_at=stop_at
    )

    waits = [(t, getattr(a, "timeout", getattr(a, "seconds", 0.0))) for t, a in server.log]
    assert all(t + wait <= stop_at + 1e-9 for t, wait in waits)


# ------------------------------------------------------------------ the machine's contract


def test_an_event_that_answers_another_action_is_refused():
    machine = TcpClientMachine(plan(TcpExchangeParams(), uppercase, SEED))
    assert isinstance(machine.start(0.0), Connect)

    with pytest.raises(ValueError, match="expected Connected or ConnectFailed for connection 0"):
        machine.handle(Received(0, b"HELLO", 0.1))


# ------------------------------------------------------------------ a silent first client


def test_a_server_blocked_by_the_silent_client_is_told_it_serves_one_at_a_time():
    params = TcpExchangeParams(idle_first=True)
    records, server = play(params, FakeServer(serves_one_at_a_time=True))

    assert records[1].blocked_by_idle and records[1].matched
    assert ("Close", 0) in server.steps()
    result = verdict(params, records)
    assert not result.passed and result.cause is not None and result.cause.key == "one-client-at-a-time"


def test_a_server_seen_blocked_by_the_silent_client_is_not_waited_out_and_judged_the_same():
    params = TcpExchangeParams(idle_first=True)
    waited, _ = play(params, FakeServer(serves_one_at_a_time=True))
    records, server = play(params, FakeServer(serves_one_at_a_time=True, seen_stuck_after=0.3))

    assert verdict(params, records).summary == verdict(params, waited).summary
    assert records[1].stuck == "blocked in recv() on a socket with no timeout"
    assert server.now < params.reply_timeout
    assert "until then the server was blocked in recv() on a socket with no timeout" in records[1].notes


def test_only_a_read_while_a_silent_connection_of_ours_is_open_may_end_as_stuck():
    _, server = play(TcpExchangeParams(idle_first=True), FakeServer(serves_one_at_a_time=True))

    assert [a.until_stuck for a in server.actions(Read)] == [True, False]


def test_once_the_reply_came_the_wait_for_the_servers_close_is_never_cut_short_as_stuck():
    _, server = play(TcpExchangeParams(idle_first=True, expect_close=True), FakeServer(closes=True))

    reads = server.actions(Read)
    assert len(reads) >= 2 and reads[0].until_stuck and not any(a.until_stuck for a in reads[1:])


@pytest.mark.parametrize("params", [TcpExchangeParams(), TcpExchangeParams(clients=2, overlapping=True)])
def test_without_a_silent_connection_no_read_ends_as_stuck(params):
    _, server = play(params)

    assert not any(a.until_stuck for a in server.actions(Read))


def test_a_server_that_never_replies_is_not_said_to_serve_one_at_a_time():
    params = TcpExchangeParams(idle_first=True)
    records, _ = play(params, FakeServer(reply=lambda request: []))

    assert not records[1].blocked_by_idle
    assert verdict(params, records).cause is None


def test_a_server_that_serves_clients_at_once_passes_with_the_silent_client_still_open():
    params = TcpExchangeParams(idle_first=True)
    records, server = play(params)

    assert verdict(params, records).passed
    assert server.steps()[-1] == ("Close", 0)  # closed at the end, not to unblock anything
