"""Time limits in layers (start-up, exchange, check, submission): each names itself and cuts only what it cut.

The sandbox is a stand-in: a "server" is a UDP socket on 127.0.0.1 that this test owns and
never answers, or one that never binds, so every wait the engine makes is a real one.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from grader.engine import Grading
from grader.model import ExitInfo, Program, Role, Status, Submission
from grader.sandbox.sockets import BoundSocket
from grader.spec import load_assignment

SPEC = """\
name = "limits"
seed = 3
[timeouts]
startup = {startup}
check = {check}

[[checks]]
id = "udp_server.listening"
kind = "listening"
points = 1

[[checks]]
id = "udp_server.patient"
kind = "udp_exchange"
points = 2
params = {{ reply_timeout = 1.0, retries = 4 }}

[[checks]]
id = "udp_server.basic"
kind = "udp_exchange"
points = 2
params = {{ reply_timeout = 0.3 }}
"""


class SilentServer:
    """Bound to an ephemeral port on 127.0.0.1; reads nothing, answers nothing."""

    def __init__(self, binds: bool):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.binds = binds

    def address(self, transport: str):
        return self.sock.getsockname()

    def make_socket(self, family: int, kind: int) -> socket.socket:
        return socket.socket(family, kind)

    def bound_sockets(self):
        return [BoundSocket("udp", "0.0.0.0", 12000)] if self.binds else []

    def exit_info(self) -> ExitInfo | None:
        return None

    def usage(self) -> None:
        return None  # the clock decides start-up, as where a cgroup cannot be read

    def output_tail(self, lines: int = 20) -> str:
        return ""

    def stop(self) -> None:
        self.sock.close()


class StandInSandbox:
    name = "stand-in"
    sandboxed = True

    def __init__(self, binds: bool):
        self.binds = binds
        self.servers: list[SilentServer] = []

    def start_server(self, submission_path: Path, program: Program, port: int) -> SilentServer:
        self.servers.append(SilentServer(self.binds))
        return self.servers[-1]

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def _grade(tmp_path, *, startup=5.0, check=60.0, time_limit=None, binds=True):
    spec = tmp_path / "limits.toml"
    spec.write_text(SPEC.format(startup=startup, check=check))
    assignment = load_assignment(str(spec))
    program = Program(Role.UDP_SERVER, ("python3", "UDPServer.py"))
    submission = Submission("student", tmp_path, {Role.UDP_SERVER: program})
    sandbox = StandInSandbox(binds)
    grading = Grading(submission, assignment, sandbox, assignment.seed, time_limit)
    try:
        results = {c.id: grading.run(c) for c in assignment.checks}
    finally:
        grading.close()
        sandbox.close()
    return results


@pytest.fixture
def no_time_limit_reached(tmp_path):
    return _grade(tmp_path)


def test_a_server_that_never_binds_fails_on_the_start_up_limit_by_name(tmp_path):
    results = _grade(tmp_path, startup=0.3, binds=False)
    assert results["udp_server.listening"].summary == (
        "the program did not start listening: no UDP socket bound within the start-up time limit (0.3 s)"
    )


def test_a_silent_server_fails_on_the_exchange_timeout_by_name(no_time_limit_reached):
    result = no_time_limit_reached["udp_server.basic"]
    assert result.status is Status.FAILED
    assert "nothing came back within the exchange timeout (0.3s per attempt)" in result.evidence


def test_a_check_that_outlasts_its_limit_names_the_check_limit_and_stops_there(tmp_path):
    results = _grade(tmp_path, check=1.5)
    patient = results["udp_server.patient"]
    assert patient.summary.startswith("the check time limit (1.5 s) ran out during this check: ")
    assert patient.duration < 2.5  # five 1 s attempts were planned; the limit cut them


def test_the_checks_after_one_cut_short_are_still_graded(tmp_path):
    results = _grade(tmp_path, check=1.5)
    assert results["udp_server.listening"].passed
    assert results["udp_server.basic"].summary == "no reply at all"


def test_the_submission_limit_fails_the_checks_not_reached_and_keeps_the_others(tmp_path):
    results = _grade(tmp_path, time_limit=1.0)
    assert results["udp_server.listening"].passed and results["udp_server.listening"].points == 1
    assert results["udp_server.patient"].summary.startswith(
        "the submission time limit (1 s) ran out during this check: "
    )
    assert results["udp_server.basic"].summary == "not run: the submission time limit (1 s) ran out before this check"
    assert results["udp_server.basic"].status is Status.FAILED


def test_the_submission_limit_cuts_a_start_up_short_and_names_itself(tmp_path):
    started = time.monotonic()
    results = _grade(tmp_path, startup=30.0, time_limit=0.5, binds=False)
    assert time.monotonic() - started < 5
    assert results["udp_server.listening"].summary == (
        "the program did not start listening: no UDP socket bound within the submission time limit (0.5 s)"
    )
