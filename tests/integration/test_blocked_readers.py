"""What grader.sandbox.blocked reads of real processes in /proc: the facts its rule rests on.

Each test starts a small Python program that blocks the way a student's client does,
waits (bounded) until /proc shows it asleep, reads it, and kills it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox.blocked import Machine, ProcessState, bytes_in_flight, never_wakes, pending_alarms, read_process

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="reading another process's socket options and /proc/timer_list needs root"
)

SETTLE_WAIT = 5.0  # s for a program to reach its receive

RECEIVE = """
import signal, socket, struct
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
{before}
print("ready", flush=True)
sock.recvfrom(2048)
"""


@pytest.fixture
def blocked() -> Iterator:
    started: list[subprocess.Popen] = []

    def start(before: str = "") -> int:
        process = subprocess.Popen(
            [sys.executable, "-c", RECEIVE.format(before=before)], stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        return process.pid

    yield start
    for process in started:
        process.kill()
        process.wait(timeout=5)


def asleep(pid: int) -> ProcessState:
    """The program's state once it sleeps in a system call (the first after "ready" is its receive)."""
    deadline = time.monotonic() + SETTLE_WAIT
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}/syscall").read_text().startswith("running"):
            return read_process(pid)
        time.sleep(0.02)
    pytest.fail(f"the program did not reach its receive within {SETTLE_WAIT}s")


def test_a_receive_with_no_timeout_reads_as_recvfrom_on_a_blocking_socket_with_no_timeout(blocked):
    state = asleep(blocked())
    assert (state.call, state.socket, state.nonblocking, state.receive_timeout) == ("recvfrom", True, False, 0.0)
    assert (state.threads, state.posix_timers) == (1, 0)
    assert never_wakes([state], Machine(0, 0)) is not None


def test_a_receive_timeout_set_with_setsockopt_is_read_from_outside(blocked):
    pid = blocked('sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("qq", 2, 0))')
    state = asleep(pid)
    assert state.receive_timeout == pytest.approx(2.0)
    assert never_wakes([state], Machine(0, 0)) is None


def test_a_python_settimeout_sleeps_in_poll_which_is_never_taken_for_forever(blocked):
    state = asleep(blocked("sock.settimeout(30)"))
    assert state.call is None
    assert never_wakes([state], Machine(0, 0)) is None


def test_an_alarm_set_by_a_program_shows_in_the_machines_pending_alarms(blocked):
    before = pending_alarms()
    assert before is not None
    asleep(blocked("signal.alarm(60)"))
    assert (pending_alarms() or 0) >= before + 1


def test_bytes_in_flight_of_a_namespace_are_read_as_a_number(blocked):
    assert isinstance(bytes_in_flight(blocked()), int)


def test_a_process_that_is_gone_reads_as_unknown_everywhere(tmp_path: Path):
    state = read_process(4242, proc=tmp_path)
    assert (state.threads, state.call, state.posix_timers) == (None, None, None)
    assert pending_alarms(tmp_path / "timer_list") is None
