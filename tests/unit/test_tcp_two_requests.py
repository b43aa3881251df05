"""The `tcp_two_requests` kind on a fake clock: what its client does, and what it concludes."""

from __future__ import annotations

import pytest

from grader.scenarios.tcp_two_requests import TwoRequestsMachine, TwoRequestsParams, judge, plan
from grader.scripted_server import uppercase
from grader.tcp_actions import Close, Connect, Connected, Done, Eof, Read, Received, Send, Sent, Tick, TimedOut

PLAN = plan(TwoRequestsParams(reply_timeout=1.0), uppercase, seed=3)


def play(server, stop_at: float | None = None) -> tuple[TwoRequestsMachine, list]:
    """Run the machine against `server(action, now) -> event`, on a clock that moves only when asked to wait."""
    machine, done = TwoRequestsMachine(PLAN, stop_at), []
    action, now = machine.start(0.0), 0.0
    for _ in range(100):
        done.append(action)
        if isinstance(action, Done):
            return machine, done
        event = server(action, now)
        now = event.t
        action = machine.handle(event)
    raise AssertionError("the machine never finished")


def looping_server(action, now):
    """Answers every request on the connection, as a server that loops on recv does."""
    if isinstance(action, Connect):
        return Connected(0, now)
    if isinstance(action, Send):
        looping_server.pending = uppercase(action.data)
        return Sent(0, now)
    if isinstance(action, Read):
        reply, looping_server.pending = looping_server.pending, b""
        return Received(0, reply, now + 0.01) if reply else TimedOut(0, now + action.timeout)
    return Tick(now)


def one_shot_server(action, now):
    """The textbook's: answers the first request, then closes the connection."""
    if isinstance(action, Read) and one_shot_server.answered:
        return Eof(0, now)
    event = looping_server(action, now)
    if isinstance(event, Received):
        one_shot_server.answered = True
    return event


def silent_server(action, now):
    if isinstance(action, Read):
        return TimedOut(0, now + action.timeout)
    return looping_server(action, now)


@pytest.fixture(autouse=True)
def fresh_servers():
    looping_server.pending, one_shot_server.answered = b"", False


def test_the_second_request_is_sent_only_once_the_first_is_answered():
    _, actions = play(looping_server)
    sends = [i for i, a in enumerate(actions) if isinstance(a, Send)]
    assert len(sends) == 2 and any(isinstance(a, Read) for a in actions[sends[0] : sends[1]])


def test_a_server_that_loops_on_the_connection_passes():
    machine, actions = play(looping_server)
    assert judge(machine).passed and isinstance(actions[-2], Close)


def test_a_server_that_closes_after_one_reply_fails_with_the_fix():
    verdict = judge(play(one_shot_server)[0])
    assert not verdict.passed and not verdict.timed
    assert verdict.summary.startswith("the first request was answered, the second on the same connection was not")
    assert "loop" in verdict.cause.text


def test_a_silent_server_fails_on_a_time_limit():
    verdict = judge(play(silent_server)[0])
    assert not verdict.passed and verdict.timed
    assert verdict.summary == "no reply to the first request: no whole reply within 1 s"


def test_the_callers_stop_time_caps_every_wait():
    machine, actions = play(silent_server, stop_at=0.25)
    assert all(a.timeout <= 0.25 for a in actions if isinstance(a, Read))
    assert judge(machine).summary == "no reply to the first request: stopped: a time limit of the grading ran out"
