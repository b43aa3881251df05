"""What a program inside the Docker sandbox sees: loopback only, a copy of its files, no host path.

Behaviour under attack (packets to a host the test owns, to the gateway, DNS) is in
tests/trust/; here are the sandbox's own promises, checked from the host and from inside.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from grader.discover import discover
from grader.engine import Grading
from grader.model import Program, Role
from grader.sandbox.docker import DockerSandbox
from grader.spec import load_assignment

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TEXTBOOK = EXAMPLES / "textbook_complete"

# Serves like the textbook after writing what it can see of its own machine.
SELF_REPORT = """\
import os
from socket import *
print("MOUNTS", open("/proc/self/mountinfo").read().replace("\\n", " | "))
print("LINKS", sorted(os.listdir("/sys/class/net")))
print("ROUTES", open("/proc/net/route").read().splitlines()[1:])
print("FILES", sorted(os.listdir(".")))
s = socket(AF_INET, SOCK_DGRAM)
s.bind(("", 12000))
while True:
    m, a = s.recvfrom(2048)
    s.sendto(m.upper(), a)
"""


@pytest.fixture(scope="module")
def sandbox():
    sandbox = DockerSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def self_report(sandbox, tmp_path_factory) -> tuple[Path, str]:
    """(the submission's host folder, what its server printed about itself)."""
    folder = tmp_path_factory.mktemp("host-path-marker") / "alice"
    folder.mkdir()
    (folder / "UDPServer.py").write_text(SELF_REPORT)
    (folder / "host-link").symlink_to("/etc")
    server = sandbox.start_server(folder, Program(Role.UDP_SERVER, ("python3", "-u", "UDPServer.py")), 12000)
    try:
        deadline = time.monotonic() + 20
        while "FILES" not in (output := server.output_tail(50)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    return folder, output


def _line(output: str, tag: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(tag))


def test_a_program_sees_no_host_path_in_its_mounts(self_report):
    folder, output = self_report
    mounts = _line(output, "MOUNTS")
    assert str(folder) not in mounts and "host-path-marker" not in mounts


def test_a_program_has_no_network_interface_but_loopback(self_report):
    assert _line(self_report[1], "LINKS") == "LINKS ['lo']"


def test_a_program_has_no_route_anywhere(self_report):
    assert _line(self_report[1], "ROUTES") == "ROUTES []"


def test_a_symlink_of_the_submission_is_not_there_inside(self_report):
    assert _line(self_report[1], "FILES") == "FILES ['UDPServer.py']"


def _server_outcomes(sandbox: DockerSandbox, folder: Path) -> list[tuple[str, str, float]]:
    assignment = load_assignment("uppercase")
    grading = Grading(discover(folder), assignment, sandbox, assignment.seed)
    try:
        results = [grading.run(check) for check in assignment.checks if check.role is Role.UDP_SERVER]
    finally:
        grading.close()
    return [(r.check_id, r.status.value, r.points) for r in results]


def test_files_only_their_owner_may_read_cost_no_marks(sandbox, tmp_path):
    private = tmp_path / "private"
    shutil.copytree(TEXTBOOK, private)
    for path in private.rglob("*"):
        os.chmod(path, 0o600)
    os.chmod(private, 0o700)
    assert _server_outcomes(sandbox, private) == _server_outcomes(sandbox, TEXTBOOK)


def test_the_relay_reaches_a_server_with_the_verdicts_of_entering_its_namespace(sandbox):
    relay = DockerSandbox(netns="relay")
    try:
        through_relay = _server_outcomes(relay, TEXTBOOK)
    finally:
        relay.close()
    assert through_relay == _server_outcomes(sandbox, TEXTBOOK)
    assert any(status == "passed" for _, status, _ in through_relay)
