"""A failure that rests on a time limit, or a check the grader could not run, is run again alone before it costs points.

The sandbox is a stand-in whose "servers" are UDP sockets on 127.0.0.1 owned by this test:
each start can be told to answer in upper case, to stay silent, to answer wrongly, or to
fail as the sandbox would (SandboxError), so the engine's waits and decisions are real ones.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from grader.engine import Grading, confirmed, needs_confirmation
from grader.model import CheckResult, CheckSpec, ExitInfo, Program, Role, Status, Submission
from grader.sandbox import SandboxError
from grader.sandbox.sockets import BoundSocket
from grader.spec import load_assignment

SPEC = """\
name = "confirm"
seed = 5
[timeouts]
startup = 2.0

[[checks]]
id = "udp_server.basic"
kind = "udp_exchange"
points = 2
params = { reply_timeout = 0.3 }

[[checks]]
id = "udp_server.advisory"
kind = "udp_exchange"
points = 1
required = false
params = { reply_timeout = 0.3 }
"""


class StandInServer:
    """A UDP socket this test owns; it answers each datagram the way it was told (`upper`, `silent`, `wrong`)."""

    def __init__(self, behaviour: str):
        self.behaviour = behaviour
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if self.behaviour == "upper":
                self.sock.sendto(data.upper(), peer)
            elif self.behaviour == "wrong":
                self.sock.sendto(b"nope", peer)

    def address(self, transport: str):
        return self.sock.getsockname()

    def make_socket(self, family: int, kind: int) -> socket.socket:
        if self.behaviour == "sandbox error":
            raise SandboxError("the stand-in engine refused")
        return socket.socket(family, kind)

    def bound_sockets(self):
        return [BoundSocket("udp", "0.0.0.0", 12000)]

    def exit_info(self) -> ExitInfo | None:
        return None

    def usage(self) -> None:
        return None

    def unread_bytes(self, peer_port: int) -> None:
        return None

    def released(self, peer_port: int) -> bool:
        return False

    def watch_blocked(self) -> None:
        return None

    def output_tail(self, lines: int = 20) -> str:
        return ""

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class StandInSandbox:
    """Each start takes the next behaviour of `starts` (the last one repeats)."""

    name = "stand-in"
    sandboxed = True

    def __init__(self, *starts: str):
        self.starts = list(starts)
        self.servers: list[StandInServer] = []

    def start_server(self, submission_path: Path, program: Program, port: int) -> StandInServer:
        behaviour = self.starts[min(len(self.servers), len(self.starts) - 1)]
        self.servers.append(StandInServer(behaviour))
        return self.servers[-1]

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def _grade(tmp_path, *starts: str) -> tuple[dict[str, CheckResult], StandInSandbox]:
    spec = tmp_path / "confirm.toml"
    spec.write_text(SPEC)
    assignment = load_assignment(str(spec))
    submission = Submission("student", tmp_path, {Role.UDP_SERVER: Program(Role.UDP_SERVER, ("python3", "S.py"))})
    sandbox = StandInSandbox(*starts)
    grading = Grading(submission, assignment, sandbox, assignment.seed)
    try:
        results = {c.id: grading.run(c) for c in assignment.checks}
    finally:
        grading.close()
        sandbox.close()
    return results, sandbox


def test_a_timed_failure_that_passes_when_run_again_alone_earns_its_points_and_is_marked_varied(tmp_path):
    results, _ = _grade(tmp_path, "silent", "upper")
    basic = results["udp_server.basic"]
    assert basic.passed and basic.points == 2 and basic.varied
    assert basic.evidence[0] == "first run: no reply at all"


def test_a_timed_failure_that_fails_again_alone_is_confirmed_and_says_so(tmp_path):
    results, sandbox = _grade(tmp_path, "silent")
    basic = results["udp_server.basic"]
    assert basic.status is Status.FAILED and not basic.varied
    assert basic.evidence[0] == "confirmed: run again alone, it failed the same way"
    assert len(sandbox.servers) == 2  # the first pass's server, and one of the confirmation's own


def test_an_advisory_failure_costs_nothing_and_is_not_run_again(tmp_path):
    results, sandbox = _grade(tmp_path, "upper", "silent")
    # The first server answers everything; a second start would be a confirmation.
    assert results["udp_server.advisory"].passed and len(sandbox.servers) == 1


def test_a_wrong_reply_is_the_programs_own_answer_and_is_not_run_again(tmp_path):
    results, sandbox = _grade(tmp_path, "wrong", "upper")
    assert results["udp_server.basic"].status is Status.FAILED and len(sandbox.servers) == 1


def test_a_check_the_grader_could_not_run_is_run_again_and_then_graded(tmp_path):
    results, _ = _grade(tmp_path, "sandbox error", "upper")
    basic = results["udp_server.basic"]
    assert basic.passed and not basic.varied  # the grader failed, not the program
    assert basic.evidence[0].startswith("first run: the grader could not run this check")


def test_a_check_the_grader_cannot_run_twice_stays_a_grader_error_never_a_zero_for_the_student(tmp_path):
    results, _ = _grade(tmp_path, "sandbox error")
    assert results["udp_server.basic"].status is Status.ERROR


CHECK = CheckSpec("udp_server.basic", Role.UDP_SERVER, "udp_exchange", 2, True)


@pytest.mark.parametrize(
    ("result", "required", "expected"),
    [
        (CheckResult("c", Status.FAILED, 0, 2, "no reply", timed=True), True, True),
        (CheckResult("c", Status.FAILED, 0, 2, "no reply", timed=True), False, False),
        (CheckResult("c", Status.FAILED, 0, 2, "wrong reply"), True, False),
        (CheckResult("c", Status.ERROR, 0, 2, "engine down"), False, True),
        (CheckResult("c", Status.PASSED, 2, 2, "ok"), True, False),
        (CheckResult("c", Status.MISSING, 0, 2, "no udp_server found"), True, False),
    ],
    ids=["timed required", "timed advisory", "content", "grader error", "passed", "missing"],
)
def test_only_timed_failures_that_cost_points_and_grader_errors_need_confirmation(result, required, expected):
    check = CHECK if required else CheckSpec("c", Role.UDP_SERVER, "udp_exchange", 2, False)
    assert needs_confirmation(check, result) is expected


def test_a_second_failure_that_differs_from_the_first_names_both():
    first = CheckResult("c", Status.FAILED, 0, 2, "no reply at all", timed=True)
    second = CheckResult("c", Status.FAILED, 0, 2, "wrong reply to request 0")
    result = confirmed(first, second)
    assert result.summary == "wrong reply to request 0"
    assert result.evidence[0] == "confirmed: run again alone, it failed too (first run: no reply at all)"


ROLE_SPEC = SPEC.replace("required = false\n", "")  # both checks required: both failures cost points


def test_a_failure_confirmed_for_a_role_confirms_the_same_failure_of_its_later_checks(tmp_path):
    (tmp_path / "role.toml").write_text(ROLE_SPEC)
    assignment = load_assignment(str(tmp_path / "role.toml"))
    submission = Submission("student", tmp_path, {Role.UDP_SERVER: Program(Role.UDP_SERVER, ("python3", "S.py"))})
    sandbox = StandInSandbox("silent")
    grading = Grading(submission, assignment, sandbox, assignment.seed)
    try:
        results = [grading.run(c) for c in assignment.checks]
    finally:
        grading.close()
        sandbox.close()
    assert [r.status for r in results] == [Status.FAILED, Status.FAILED]
    assert results[1].evidence[0] == (
        "confirmed: udp_server.basic failed the same way when run again alone, on a fresh udp_server"
    )
    assert len(sandbox.servers) == 2  # the first pass's, and the one confirmation start for the role
