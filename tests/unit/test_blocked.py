"""The rule that a program is blocked forever: pure, on pictures of /proc, no processes."""

from __future__ import annotations

import dataclasses

import pytest

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
