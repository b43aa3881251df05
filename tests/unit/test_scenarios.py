"""Scenario logic without sockets: the UDP client state machine on a fake clock, plans, judges."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.impair import Action, Ending
from grader.scenarios.common import make_payloads, same_reply
from grader.scenarios.tcp_exchange import ConnectionRecord, TcpExchangeParams
from grader.scenarios.tcp_exchange import judge as tcp_judge
from grader.scenarios.tcp_exchange import plan as tcp_plan
from grader.scenarios.udp_exchange import Send, UdpClientMachine, UdpExchangeParams, judge, plan
from grader.scripted_server import uppercase

SEED = 2026
Replies = list[tuple[int, bytes]]  # (client socket, datagram) the fake server sends back


def machine(**params) -> UdpClientMachine:
    return UdpClientMachine(plan(UdpExchangeParams(**params), uppercase, SEED))


def reply_to(m: UdpClientMachine, send: Send, now: float) -> None:
    """The correct reply, on the socket that sent the request."""
    m.receive(send.request.client, send.request.expected, now)


def indices(sends: list[Send]) -> list[tuple[int, int]]:
    return [(s.request.index, s.attempt) for s in sends]


def drive(m: UdpClientMachine, server: Callable[[Send], Replies], limit: float = 1000.0) -> float:
    """Play the machine against a fake server on a fake clock; return when it finished."""
    now = 0.0
    for _ in range(100_000):
        sends = m.poll(now)
        for send in sends:
            for client, data in server(send):
                m.receive(client, data, now)
        if m.finished(now):
            return now
        if not sends:
            wake = m.next_wakeup(now)
            assert wake is not None and wake > now, "the machine is stuck"
            now = wake
        assert now < limit
    raise AssertionError("the machine never finished")


def correct(send: Send) -> Replies:
    return [(send.request.client, uppercase(send.request.payload))]


def echo(send: Send) -> Replies:
    return [(send.request.client, send.request.payload)]


def silent(send: Send) -> Replies:
    return []


# ------------------------------------------------------------------ UdpClientMachine: lock-step


def test_lock_step_sends_only_the_first_request_at_first():
    m = machine(messages=3)

    assert indices(m.poll(0.0)) == [(0, 0)]


def test_lock_step_waits_while_the_request_is_unanswered():
    m = machine(messages=3)
    m.poll(0.0)

    assert m.poll(0.5) == []
    assert m.poll(0.999) == []


def test_a_reply_by_content_answers_the_request():
    m = machine(messages=3)
    (send,) = m.poll(0.0)

    reply_to(m, send, 0.1)

    assert m.answered(send.request)


def test_an_answered_request_lets_the_next_one_go_at_once():
    m = machine(messages=3)
    (first,) = m.poll(0.0)
    reply_to(m, first, 0.1)

    assert indices(m.poll(0.1)) == [(1, 0)]


@pytest.mark.parametrize("suffix", [b"\n", b"\r\n"])
def test_a_reply_with_a_trailing_newline_still_counts(suffix):
    m = machine()
    (send,) = m.poll(0.0)

    m.receive(0, send.request.expected + suffix, 0.1)

    assert m.answered(send.request)


@pytest.mark.parametrize("wrong", [b"", b"SOMETHING ELSE"], ids=["empty", "other text"])
def test_a_reply_with_other_content_does_not_count(wrong):
    m = machine()
    (send,) = m.poll(0.0)

    m.receive(0, wrong, 0.1)

    assert not m.answered(send.request)


def test_the_echoed_request_does_not_count_as_a_reply():
    m = machine()
    (send,) = m.poll(0.0)

    m.receive(0, send.request.payload, 0.1)

    assert not m.answered(send.request)


# ------------------------------------------------------------------ retransmission


@pytest.mark.parametrize("retries", [1, 2, 3])
def test_an_unanswered_request_is_retransmitted_after_each_reply_timeout(retries):
    m = machine(messages=2, retries=retries, reply_timeout=1.0)
    m.poll(0.0)

    for attempt in range(1, retries + 1):
        assert m.poll(attempt - 0.01) == []
        assert indices(m.poll(float(attempt))) == [(0, attempt)]


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_after_its_last_attempt_the_machine_gives_up_and_moves_on(retries):
    m = machine(messages=2, retries=retries, reply_timeout=1.0)
    m.poll(0.0)
    for attempt in range(1, retries + 1):
        m.poll(float(attempt))

    assert indices(m.poll(retries + 1.0)) == [(1, 0)]
    attempts_of_first = [s for s, _ in m.sent if s.request.index == 0]
    assert len(attempts_of_first) == retries + 1


def test_next_wakeup_is_the_reply_timeout_after_the_last_send():
    m = machine(messages=2, retries=2, reply_timeout=0.5)
    m.poll(10.0)

    assert m.next_wakeup(10.25) == 10.5
    m.poll(10.5)
    assert m.next_wakeup(10.75) == 11.0


@pytest.mark.parametrize(("start", "timeout"), [(10.0, 0.6), (0.1, 0.7), (3.3, 0.3)])
def test_polling_at_the_time_next_wakeup_names_retransmits(start, timeout):
    m = machine(retries=1, reply_timeout=timeout)
    m.poll(start)

    wake = m.next_wakeup(start)

    assert indices(m.poll(wake)) == [(0, 1)]


def test_an_attempt_the_schedule_drops_is_sent_again_at_once():
    m = machine(messages=1, drop_messages=(0,), retries=2, reply_timeout=0.5)

    assert indices(m.poll(10.0)) == [(0, 0)]
    assert m.next_wakeup(10.0) == 10.0
    assert indices(m.poll(10.0)) == [(0, 1)]


def test_an_attempt_that_was_delivered_still_gets_the_whole_reply_timeout():
    m = machine(messages=1, drop_messages=(0,), retries=2, reply_timeout=0.5)
    m.poll(10.0)
    m.poll(10.0)  # the retransmission, delivered

    assert m.poll(10.25) == []
    assert m.next_wakeup(10.25) == 10.5


def test_a_lossy_exchange_with_a_correct_server_spends_no_time_waiting_for_dropped_datagrams():
    m = machine(messages=12, drop=0.3, drop_messages=(1,), retries=3, reply_timeout=0.6)

    def delivered_only(send: Send) -> Replies:
        dropped = m.plan.schedule.fate(send.request.index, send.attempt).action is Action.DROP
        return [] if dropped else correct(send)

    assert drive(m, delivered_only) == 0.0
    assert judge(m).passed
    assert len(m.sent) > 12  # the drops were played, and retransmitted


def test_next_wakeup_is_none_when_nothing_waits():
    m = machine()
    (send,) = m.poll(0.0)
    reply_to(m, send, 0.1)

    assert m.next_wakeup(0.1) is None


def test_a_late_reply_after_a_retransmission_answers_the_request():
    m = machine(retries=1, reply_timeout=1.0)
    (send,) = m.poll(0.0)
    m.poll(1.0)

    reply_to(m, send, 1.3)

    assert m.answered(send.request)
    assert m.finished(1.3)


def test_a_request_that_needs_no_reply_is_sent_once_even_with_retries():
    m = machine(payload="non_utf8", expect_reply=False, probe_after=True, retries=2, reply_timeout=0.5)
    m.poll(0.0)

    (probe,) = m.poll(0.5)

    assert (probe.request.index, probe.attempt) == (1, 0)
    assert probe.request.expected is not None
    assert [s.request.index for s, _ in m.sent].count(0) == 1


def test_drive_against_a_server_that_ignores_first_attempts_passes_with_retries():
    seen: set[int] = set()

    def lossy(send: Send) -> Replies:
        if send.request.index not in seen:
            seen.add(send.request.index)
            return []
        return correct(send)

    m = machine(messages=4, retries=1, reply_timeout=0.5)
    drive(m, lossy)

    assert judge(m).passed
    assert len(m.sent) == 8


# ------------------------------------------------------------------ burst


def test_burst_sends_every_request_at_once():
    m = machine(messages=5, burst=True)

    assert indices(m.poll(0.0)) == [(i, 0) for i in range(5)]


def test_burst_retransmits_every_unanswered_request_after_the_timeout():
    m = machine(messages=3, burst=True, retries=1, reply_timeout=1.0)
    sends = m.poll(0.0)
    reply_to(m, sends[1], 0.2)

    assert indices(m.poll(1.0)) == [(0, 1), (2, 1)]


def test_burst_of_two_clients_sends_interleaved_requests():
    m = machine(clients=2, messages=2, burst=True)

    assert [s.request.client for s in m.poll(0.0)] == [0, 1, 0, 1]


# ------------------------------------------------------------------ matching by content


def test_replies_in_reverse_order_answer_every_request():
    m = machine(messages=4, burst=True)
    sends = m.poll(0.0)

    for send in reversed(sends):
        reply_to(m, send, 0.1)

    assert all(m.answered(s.request) for s in sends)
    assert m.finished(0.1)


def test_duplicated_replies_answer_only_their_own_request():
    m = machine(messages=3, burst=True)
    sends = m.poll(0.0)

    reply_to(m, sends[1], 0.1)
    reply_to(m, sends[1], 0.2)

    assert [m.answered(s.request) for s in sends] == [False, True, False]
    assert len(m.received) == 2


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_reply_with_a_line_ending_added_answers_its_request(ending):
    m = machine(messages=3, burst=True)
    sends = m.poll(0.0)

    m.receive(0, sends[2].request.expected + ending, 0.1)

    assert [m.answered(s.request) for s in sends] == [False, False, True]


def test_a_reply_before_its_request_was_sent_answers_nothing():
    m = machine(messages=3)  # lock-step: only the first is sent
    m.poll(0.0)

    m.receive(0, m.plan.requests[1].expected, 0.1)

    assert not m.answered(m.plan.requests[1])


def test_a_reply_on_the_wrong_clients_socket_does_not_count():
    m = machine(clients=2, messages=1, burst=True)
    first, _ = m.poll(0.0)

    m.receive(1, first.request.expected, 0.1)

    assert not m.answered(first.request)


def test_a_correct_reply_from_another_address_does_not_count():
    m = machine()
    (first,) = m.poll(0.0)

    m.receive(0, first.request.expected, 0.1, foreign_source=("172.18.0.2", 40123))

    assert not m.answered(first.request)


def test_a_reply_to_a_request_not_yet_sent_does_not_count():
    m = machine(messages=2)
    m.poll(0.0)
    second = m.plan.requests[1]

    m.receive(0, second.expected, 0.1)

    assert not m.answered(second)


# ------------------------------------------------------------------ finished


def test_finished_is_false_before_anything_is_sent():
    assert not machine().finished(0.0)


def test_finished_only_when_every_request_is_answered():
    m = machine(messages=2)
    (first,) = m.poll(0.0)
    reply_to(m, first, 0.1)
    assert not m.finished(0.1)

    (second,) = m.poll(0.1)
    assert not m.finished(0.2)
    reply_to(m, second, 0.2)

    assert m.finished(0.2)


def test_finished_after_the_last_request_times_out():
    m = machine(retries=0, reply_timeout=1.0)
    m.poll(0.0)

    assert not m.finished(0.99)
    assert m.finished(1.0)


def test_drive_against_a_silent_server_stops_within_the_plan_budget():
    m = machine(messages=3, retries=2, reply_timeout=0.5)

    ended = drive(m, silent)

    assert ended <= m.plan.budget
    assert len(m.sent) == 9


# ------------------------------------------------------------------ UDP judge


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"messages": 20},
        {"clients": 2, "messages": 3},
        {"payload": "non_ascii", "messages": 2},
        {"length": 2000},
        {"payload": "non_utf8", "expect_reply": False, "probe_after": True, "reply_timeout": 0.5},
        {"messages": 6, "burst": True, "hold": (0, 3), "duplicate_messages": (2, 4)},
    ],
    ids=["basic", "many", "two clients", "non-ascii", "long line", "survive", "burst"],
)
def test_judge_passes_when_every_request_is_answered(params):
    m = machine(**params)
    drive(m, correct)

    verdict = judge(m)

    assert verdict.passed
    assert "answered correctly" in verdict.summary


def test_judge_of_an_echo_server_hints_at_upper_casing():
    m = machine()
    drive(m, echo)

    verdict = judge(m)

    assert not verdict.passed
    assert "unchanged" in verdict.summary
    assert "upper" in verdict.cause.text


def test_judge_of_replies_from_another_socket_names_the_socket_and_hints_at_sendto():
    m = machine()
    now = 0.0
    for _ in range(10):
        for send in m.poll(now):
            m.receive(send.request.client, send.request.expected, now, foreign_source=("172.18.0.2", 40123))
        if m.finished(now):
            break
        now = m.next_wakeup(now) or now

    verdict = judge(m)

    assert not verdict.passed
    assert verdict.summary == "the replies came from another socket (172.18.0.2:40123), not from the server's port"
    assert "sendto" in verdict.cause.text


def test_judge_of_a_truncated_reply_says_truncated():
    m = machine(length=2000)
    drive(m, lambda s: [(s.request.client, uppercase(s.request.payload)[:1024])])

    verdict = judge(m)

    assert not verdict.passed
    assert "truncated" in verdict.summary
    assert "truncated" in verdict.cause.text
    assert "1024" in verdict.cause.text


def test_judge_of_a_partly_upper_cased_reply_says_so():
    m = machine()
    drive(m, lambda s: [(s.request.client, uppercase(s.request.payload)[:3] + s.request.payload[3:])])

    verdict = judge(m)

    assert not verdict.passed
    assert "upper" in verdict.cause.text


def swapped(send: Send) -> Replies:
    """Each reply goes to the other client's socket."""
    return [(1 - send.request.client, uppercase(send.request.payload))]


def all_to_first(send: Send) -> Replies:
    """Every reply goes to client 0's socket (the first address the server saw)."""
    return [(0, uppercase(send.request.payload))]


@pytest.mark.parametrize("server", [swapped, all_to_first], ids=["swapped", "all to the first client"])
def test_judge_of_replies_sent_to_the_other_client_hints_wrong_client(server):
    m = machine(clients=2, messages=1)
    drive(m, server)

    verdict = judge(m)

    assert not verdict.passed
    assert verdict.cause is not None
    assert "wrong client" in verdict.cause.text


def test_judge_of_a_silent_server_says_no_reply():
    m = machine(messages=2, retries=1, reply_timeout=0.5)
    drive(m, silent)

    verdict = judge(m)

    assert not verdict.passed
    assert "no reply" in verdict.summary
    assert verdict.cause is None


def test_judge_of_a_server_that_stops_answering_names_the_first_unanswered_request():
    m = machine(messages=3)
    drive(m, lambda s: correct(s) if s.request.index == 0 else [])

    verdict = judge(m)

    assert not verdict.passed
    assert "no reply to request 1" in verdict.summary


def test_judge_evidence_names_the_seed_and_that_nothing_was_impaired():
    m = machine()
    drive(m, correct)

    assert f"impairment: seed {SEED} (no impairment): no send impaired" in judge(m).evidence


def test_judge_evidence_names_each_impaired_send_that_was_made():
    m = machine(messages=2, drop_messages=(1,), retries=1, reply_timeout=0.5)
    drive(m, correct)

    note = next(line for line in judge(m).evidence if line.startswith("impairment:"))
    assert "msg1 drop" in note and "msg0" not in note


# ------------------------------------------------------------------ UDP plan


def test_the_same_seed_gives_the_same_plan():
    params = UdpExchangeParams(clients=2, messages=10, drop=0.3, retries=3)

    first = plan(params, uppercase, SEED)
    second = plan(params, uppercase, SEED)

    assert first == second
    assert [first.schedule.fate(m, a) for m in range(20) for a in range(4)] == [
        second.schedule.fate(m, a) for m in range(20) for a in range(4)
    ]


def test_another_seed_gives_other_payloads():
    params = UdpExchangeParams(messages=5)

    first = [r.payload for r in plan(params, uppercase, 1).requests]
    second = [r.payload for r in plan(params, uppercase, 2).requests]

    assert first != second


@pytest.mark.parametrize(
    "params",
    [
        {"messages": 200},
        {"clients": 4, "messages": 20},
        {"clients": 2, "messages": 10, "payload": "non_ascii"},
        {"clients": 2, "messages": 10, "payload": "non_utf8"},
        {"clients": 3, "messages": 5, "length": 2000},
        {"clients": 2, "messages": 100, "length": 64},
    ],
    ids=["words", "four clients", "non-ascii", "non-utf8", "long lines", "shortest padded lines"],
)
def test_payloads_are_distinct_across_requests_and_clients(params):
    requests = plan(UdpExchangeParams(**params), uppercase, SEED).requests
    payloads = [r.payload for r in requests]

    assert len(set(payloads)) == len(payloads)


@pytest.mark.parametrize("length", [64, 2000, 65507])
@pytest.mark.parametrize("payload", ["words", "non_utf8"])
def test_length_gives_payloads_of_exactly_that_many_bytes(payload, length):
    requests = plan(UdpExchangeParams(messages=3, payload=payload, length=length), uppercase, SEED).requests

    assert {len(r.payload) for r in requests} == {length}


@pytest.mark.parametrize("length", [64, 65, 2000])
def test_non_ascii_payloads_of_a_given_length_stay_valid_utf8(length):
    requests = plan(UdpExchangeParams(messages=10, payload="non_ascii", length=length), uppercase, SEED).requests

    for request in requests:
        assert len(request.payload) == length
        request.payload.decode("utf-8")


@pytest.mark.parametrize("length", [1, 30, 63])
def test_a_length_that_could_cut_a_line_is_rejected(length):
    with pytest.raises(ValueError, match="length"):
        UdpExchangeParams(length=length)


def test_requests_of_two_clients_are_interleaved():
    requests = plan(UdpExchangeParams(clients=2, messages=2), uppercase, SEED).requests

    assert [(r.index, r.client) for r in requests] == [(0, 0), (1, 1), (2, 0), (3, 1)]


def test_expected_replies_are_the_transformed_payloads():
    for request in plan(UdpExchangeParams(messages=5), uppercase, SEED).requests:
        assert request.expected == request.payload.upper()


def test_a_survive_only_request_expects_no_reply_and_the_probe_does():
    requests = plan(
        UdpExchangeParams(payload="non_utf8", expect_reply=False, probe_after=True), uppercase, SEED
    ).requests

    assert [r.expected is None for r in requests] == [True, False]
    assert requests[-1].client == 0


def test_hold_and_duplicate_messages_are_scripted_in_the_schedule():
    udp_plan = plan(UdpExchangeParams(messages=6, hold=(0, 3), duplicate_messages=(2,)), uppercase, SEED)

    actions = [udp_plan.schedule.fate(i, 0).action for i in range(6)]

    assert actions == [Action.HOLD, Action.DELIVER, Action.DUPLICATE, Action.HOLD, Action.DELIVER, Action.DELIVER]


def test_the_budget_covers_every_attempt_of_every_lock_step_request():
    udp_plan = plan(UdpExchangeParams(messages=4, retries=2, reply_timeout=0.5), uppercase, SEED)

    assert udp_plan.budget >= 4 * 3 * 0.5


# ------------------------------------------------------------------ make_payloads


def test_non_utf8_payloads_are_not_valid_utf8():
    for payload in make_payloads("non_utf8", 70, SEED, "c0"):
        with pytest.raises(UnicodeDecodeError):
            payload.decode("utf-8")


def test_non_ascii_payloads_are_utf8_with_non_ascii_characters():
    for payload in make_payloads("non_ascii", 20, SEED, "c0"):
        text = payload.decode("utf-8")
        assert not text.isascii()


def test_words_payloads_are_lower_case_ascii():
    for payload in make_payloads("words", 20, SEED, "c0"):
        assert payload.isascii()
        assert payload != payload.upper()


def test_empty_payloads_are_empty():
    assert make_payloads("empty", 3, SEED, "c0") == [b"", b"", b""]


def test_payloads_differ_between_tags():
    assert set(make_payloads("words", 5, SEED, "c0")).isdisjoint(make_payloads("words", 5, SEED, "c1"))


def test_an_unknown_payload_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown payload"):
        make_payloads("emoji", 1, SEED, "c0")


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        (b"ABC", b"ABC", True),
        (b"ABC\n", b"ABC", True),
        (b"ABC", b"ABC\r\n", True),
        (b"AB", b"ABC", False),
        (b" ABC", b"ABC", False),
    ],
)
def test_same_reply_ignores_only_a_trailing_newline(got, expected, same):
    assert same_reply(got, expected) is same


# ------------------------------------------------------------------ TCP plan


def test_tcp_plan_has_one_connection_per_client_with_distinct_payloads():
    tcp = tcp_plan(TcpExchangeParams(clients=5), uppercase, SEED)

    payloads = [c.stream.data for c in tcp.connections]
    assert len(payloads) == 5
    assert len(set(payloads)) == 5
    assert all(c.expected == uppercase(c.stream.data) for c in tcp.connections)


def test_tcp_plan_is_deterministic():
    params = TcpExchangeParams(clients=3, pieces=4, pause=0.1)

    assert tcp_plan(params, uppercase, SEED) == tcp_plan(params, uppercase, SEED)


def test_tcp_plan_splits_a_request_into_pieces_that_add_up():
    (connection,) = tcp_plan(TcpExchangeParams(pieces=3, pause=0.1), uppercase, SEED).connections

    assert len(connection.stream.writes) == 3
    assert connection.stream.data == make_payloads("words", 1, SEED, "tcp")[0]


def test_tcp_plan_with_an_idle_first_client_opens_a_silent_connection_first():
    tcp = tcp_plan(TcpExchangeParams(idle_first=True), uppercase, SEED)

    idle, real = tcp.connections
    assert idle.stream is None and idle.expected is None
    assert real.expected is not None
    assert tcp.overlapping


def test_tcp_plan_expects_no_reply_when_the_client_resets():
    tcp = tcp_plan(TcpExchangeParams(ending="reset", probe_after=True), uppercase, SEED)

    (connection,) = tcp.connections
    assert connection.stream.ending is Ending.RESET
    assert connection.expected is None
    assert tcp.probe is not None and tcp.probe.expected is not None


@pytest.mark.parametrize("length", [64, 1000])
def test_tcp_plan_length_gives_exact_byte_lengths(length):
    (connection,) = tcp_plan(TcpExchangeParams(length=length), uppercase, SEED).connections

    assert len(connection.stream.data) == length


# ------------------------------------------------------------------ TCP judge


def tcp_records(params: TcpExchangeParams, **fields) -> tuple:
    tcp = tcp_plan(params, uppercase, SEED)
    return tcp, [ConnectionRecord(c, **fields) for c in tcp.connections]


def test_tcp_judge_passes_a_matched_reply():
    tcp, (record,) = tcp_records(TcpExchangeParams())
    record.reply, record.replied_at = record.plan.expected, 0.01

    verdict = tcp_judge(tcp, [record])

    assert verdict.passed
    assert verdict.summary == "1 replies correct"


def test_tcp_judge_accepts_a_reply_with_a_trailing_newline():
    tcp, (record,) = tcp_records(TcpExchangeParams())
    record.reply = record.plan.expected + b"\n"

    assert tcp_judge(tcp, [record]).passed


def test_tcp_judge_fails_a_server_that_does_not_close_when_it_must():
    tcp, (record,) = tcp_records(TcpExchangeParams(expect_close=True))
    record.reply, record.replied_at = record.plan.expected, 0.01

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "close" in verdict.summary
    assert "close" in verdict.cause.text


def test_tcp_judge_passes_a_server_that_closes_when_it_must():
    tcp, (record,) = tcp_records(TcpExchangeParams(expect_close=True))
    record.reply, record.replied_at, record.closed_at = record.plan.expected, 0.01, 0.02

    assert tcp_judge(tcp, [record]).passed


@pytest.mark.parametrize("error", ["timed out", "reset by the server"])
def test_tcp_judge_reports_no_reply_with_the_error(error):
    tcp, (record,) = tcp_records(TcpExchangeParams(), error=error)

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "no reply" in verdict.summary
    assert error in verdict.summary


def test_tcp_judge_reports_a_close_without_a_reply():
    tcp, (record,) = tcp_records(TcpExchangeParams(), closed_at=0.05)

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "closed the connection without replying" in verdict.summary


def test_tcp_judge_of_an_echo_hints_at_upper_casing():
    tcp, (record,) = tcp_records(TcpExchangeParams())
    record.reply = record.plan.stream.data

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "wrong reply" in verdict.summary
    assert "upper" in verdict.cause.text


def test_tcp_judge_of_a_truncated_reply_hints_at_the_buffer():
    tcp, (record,) = tcp_records(TcpExchangeParams(length=1000))
    record.reply = record.plan.expected[: 1024 // 2]

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "truncated" in verdict.cause.text


def test_tcp_judge_fails_a_refused_connection():
    tcp, (record,) = tcp_records(TcpExchangeParams(), connect_error="connection refused")

    verdict = tcp_judge(tcp, [record])

    assert not verdict.passed
    assert "connection refused" in verdict.summary


def test_tcp_judge_ignores_a_silent_connection_that_expects_nothing():
    tcp, records = tcp_records(TcpExchangeParams(idle_first=True))
    _, real = records
    real.reply = real.plan.expected

    verdict = tcp_judge(tcp, records)

    assert verdict.passed
    assert verdict.summary == "1 replies correct"


def test_tcp_judge_names_the_failing_connection():
    tcp, records = tcp_records(TcpExchangeParams(clients=3))
    for record in records[:2]:
        record.reply = record.plan.expected

    verdict = tcp_judge(tcp, records)

    assert not verdict.passed
    assert "connection 2" in verdict.summary
    assert len(verdict.evidence) == 3


def test_tcp_judge_of_a_split_request_answered_in_part_names_the_single_recv():
    tcp, (record,) = tcp_records(TcpExchangeParams(pieces=3, ending="half_close"))
    record.reply = record.plan.expected[:10]

    verdict = tcp_judge(tcp, [record])

    assert verdict.cause is not None and verdict.cause.key == "one-recv-per-request"


def test_tcp_judge_of_a_split_request_cut_off_while_sending_names_the_single_recv():
    tcp, (record,) = tcp_records(TcpExchangeParams(pieces=3, ending="half_close"), error="while sending: Broken pipe")

    verdict = tcp_judge(tcp, [record])

    assert verdict.cause is not None and verdict.cause.key == "one-recv-per-request"


def test_tcp_judge_of_a_whole_request_cut_short_keeps_the_buffer_cause():
    tcp, (record,) = tcp_records(TcpExchangeParams(length=1000))
    record.reply = record.plan.expected[:512]

    assert tcp_judge(tcp, [record]).cause.key == "truncated-reply"


def test_tcp_judge_of_a_reply_that_came_once_the_idle_client_closed_names_one_client_at_a_time():
    tcp, records = tcp_records(TcpExchangeParams(idle_first=True))
    records[1].reply, records[1].blocked_by_idle = records[1].plan.expected, True

    verdict = tcp_judge(tcp, records)

    assert not verdict.passed and "only once that client was closed" in verdict.summary
    assert verdict.cause is not None and verdict.cause.key == "one-client-at-a-time"


def test_tcp_judge_of_no_reply_behind_an_idle_client_names_no_cause_without_evidence():
    tcp, records = tcp_records(TcpExchangeParams(idle_first=True), error="timed out")

    assert tcp_judge(tcp, records).cause is None


def test_tcp_judge_of_no_reply_with_no_idle_client_names_no_cause():
    tcp, records = tcp_records(TcpExchangeParams(), error="timed out")

    assert tcp_judge(tcp, records).cause is None
