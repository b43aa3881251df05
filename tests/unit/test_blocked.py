"""The rule that a program is blocked forever: pure, on pictures of /proc, no processes."""

from __future__ import annotations

import dataclasses

import pytest

from grader.sandbox import blocked
from grader.sandbox.blocked import Machine, ProcessState, Settling, never_wakes

RECEIVING = ProcessState(
    pid=7, threads=1, call="recvfrom", socket=True, nonblocking=False, receive_timeout=0.0, posix_timers=0
)
WAITING_SHELL = ProcessState(
    pid=6, threads=1, call="wait4", socket=False, nonblocking=False, receive_timeout=None, posix_timers=0
)
QUIET = Machine(alarms=0, in_flight=0)


def test_a_single_threaded_receive_on_a_blocking_socket_with_no_timeout_never_wakes():
    assert never_wakes([RECEIVING], QUIET) == "blocked in recvfrom() on a socket with no timeout"


def test_a_shell_waiting_for_the_blocked_program_it_started_does_not_change_the_decision():
    assert never_wakes([WAITING_SHELL, RECEIVING], QUIET) is not None


def test_parents_that_only_wait_are_not_blocked_forever_since_their_children_are_gone():
    assert never_wakes([WAITING_SHELL], QUIET) is None


def test_no_process_at_all_is_not_blocked_forever():
    assert never_wakes([], QUIET) is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"threads": 2}, id="a second thread could send or close"),
        pytest.param({"threads": None}, id="unreadable thread count"),
        pytest.param({"posix_timers": 1}, id="a POSIX timer"),
        pytest.param({"posix_timers": None}, id="unreadable timers"),
        pytest.param({"receive_timeout": 2.0}, id="SO_RCVTIMEO set"),
        pytest.param({"receive_timeout": None}, id="unreadable receive timeout"),
        pytest.param({"nonblocking": True}, id="a non-blocking socket"),
        pytest.param({"socket": False}, id="reading a pipe or stdin"),
        pytest.param({"call": None}, id="running, or in poll, select, sleep or a futex"),
        pytest.param({"call": "wait4"}, id="only waiting"),
    ],
)
def test_anything_that_could_wake_the_receiving_process_means_it_is_not_blocked_forever(change):
    assert never_wakes([dataclasses.replace(RECEIVING, **change)], QUIET) is None


@pytest.mark.parametrize(
    "machine",
    [
        pytest.param(Machine(alarms=1, in_flight=0), id="an alarm pending somewhere"),
        pytest.param(Machine(alarms=None, in_flight=0), id="timer list unreadable"),
        pytest.param(Machine(alarms=0, in_flight=12), id="bytes still in flight"),
        pytest.param(Machine(alarms=0, in_flight=None), id="send queues unreadable"),
    ],
)
def test_anything_on_the_machine_that_could_still_wake_it_means_it_is_not_blocked_forever(machine):
    assert never_wakes([RECEIVING], machine) is None


def test_one_awake_process_among_blocked_ones_means_the_program_is_not_blocked_forever():
    busy = dataclasses.replace(RECEIVING, pid=8, call=None)
    assert never_wakes([RECEIVING, busy], QUIET) is None


def test_a_picture_is_believed_only_once_it_has_held_for_the_settling_time():
    settling = Settling(settle=0.3)
    assert not settling.settled(10.0, "blocked")
    assert not settling.settled(10.2, "blocked")
    assert settling.settled(10.3, "blocked")


def test_a_changed_picture_starts_the_settling_time_again():
    settling = Settling(settle=0.3)
    settling.settled(10.0, "blocked, peer log 100 bytes")
    assert not settling.settled(10.4, "blocked, peer log 180 bytes")
    assert settling.settled(10.75, "blocked, peer log 180 bytes")


def test_a_moment_when_it_was_not_blocked_starts_the_settling_time_again():
    settling = Settling(settle=0.3)
    settling.settled(10.0, "blocked")
    assert not settling.settled(10.1, None)
    assert not settling.settled(10.35, "blocked")
    assert settling.settled(10.7, "blocked")


# ------------------------------------------------------------------ the watch's order of looks


@pytest.fixture
def asleep_in_a_receive(monkeypatch):
    """A program of one process asleep in recvfrom() on a blocking socket; the calls that copy its socket, counted."""
    copies: list[int] = []
    monkeypatch.setattr(
        blocked,
        "read_process",
        lambda pid, timeouts=True: ProcessState(pid, 1, "recvfrom", True, False, 0.0 if timeouts else None, 0, 3),
    )
    monkeypatch.setattr(blocked, "pending_alarms", lambda: 0)
    monkeypatch.setattr(blocked, "receive_timeout", lambda pid, fd: copies.append(fd) or 0.0)
    return copies


def test_a_program_with_bytes_in_flight_never_has_its_socket_copied(asleep_in_a_receive, monkeypatch):
    monkeypatch.setattr(blocked, "bytes_in_flight", lambda pid, diag=None: 5)
    watch = blocked.BlockedWatch(1, lambda: [1, 42], lambda: 0, settle=0.0)

    assert watch.forever(0.0) is None and watch.forever(1.0) is None
    assert asleep_in_a_receive == []  # its close could linger while those bytes are unsent


def test_a_program_asleep_with_nothing_in_flight_has_its_receive_timeout_read_and_is_blocked(
    asleep_in_a_receive, monkeypatch
):
    monkeypatch.setattr(blocked, "bytes_in_flight", lambda pid, diag=None: 0)
    watch = blocked.BlockedWatch(1, lambda: [1, 42], lambda: 0, settle=0.0)

    watch.forever(0.0)
    assert watch.forever(1.0) == "blocked in recvfrom() on a socket with no timeout"
    assert asleep_in_a_receive == [3, 3]
