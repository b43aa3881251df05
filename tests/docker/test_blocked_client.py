"""A client blocked forever is stopped as soon as that is certain; one that could still wake keeps its budget.

Each client talks to the scripted server in the Docker sandbox, as the grader plays it.
The server never answers (`silent`), so a client with no timeout sleeps in recvfrom()
forever, while one with any timer of its own wakes by itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.model import Program, Role
from grader.sandbox.docker import DockerSandbox
from grader.scenarios.client_exchange import play
from grader.scenarios.scripted_peer import ScriptedServerSpec

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

BUDGET = 8.0  # roomy: a timer of 2 s must fire within it on a busy machine too
SILENT = ScriptedServerSpec("udp", "silent", 12000, 0.0, 1, 0.0)

CLIENT = """\
import signal, socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
{timer}
sock.sendto(b"hello", ("127.0.0.1", 12000))
print(sock.recvfrom(2048))
"""


@pytest.fixture(scope="module")
def sandbox():
    sandbox = DockerSandbox()
    yield sandbox
    sandbox.close()


def run_client(sandbox: DockerSandbox, folder: Path, timer: str):
    folder.mkdir()
    (folder / "UDPClient.py").write_text(CLIENT.format(timer=timer))
    program = Program(Role.UDP_CLIENT, ("python3", "-u", "UDPClient.py"))
    return play(sandbox, folder, program, b"", SILENT, BUDGET)


def test_a_client_with_no_timeout_waiting_for_a_silent_server_is_stopped_long_before_its_budget(sandbox, tmp_path):
    run = run_client(sandbox, tmp_path / "no-timeout", "")
    assert run.hung
    assert run.never_woke == "blocked in recvfrom() on a socket with no timeout"
    assert run.duration < BUDGET / 2


@pytest.mark.parametrize(
    "timer",
    [
        pytest.param("sock.settimeout(2)", id="settimeout"),
        pytest.param(
            'sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("qq", 2, 0))', id="SO_RCVTIMEO"
        ),
        pytest.param("signal.alarm(2)", id="alarm"),
    ],
)
def test_a_client_with_a_timer_of_its_own_is_left_to_wake_by_itself(sandbox, tmp_path, timer):
    run = run_client(sandbox, tmp_path / "timer", timer)
    assert run.never_woke == ""
    assert run.exit is not None, f"it was killed after {run.duration:.2f}s"
    assert run.duration >= 1.9


TCP_SILENT = ScriptedServerSpec("tcp", "silent", 12000, 0.0, 1, 0.0)

TCP_CLIENT = """\
import socket
sock = socket.create_connection(("127.0.0.1", 12000))
sock.sendall(b"hello\\n")
print(sock.recv(1024))
"""


def test_a_tcp_client_with_no_timeout_waiting_for_a_silent_server_is_stopped_long_before_its_budget(sandbox, tmp_path):
    # The scripted server's listening socket stays open beside the connection: its backlog is
    # no byte in flight (sock_diag reports it where /proc/net/tcp shows a send queue).
    folder = tmp_path / "tcp-no-timeout"
    folder.mkdir()
    (folder / "TCPClient.py").write_text(TCP_CLIENT)
    run = play(sandbox, folder, Program(Role.TCP_CLIENT, ("python3", "-u", "TCPClient.py")), b"", TCP_SILENT, BUDGET)
    assert run.hung
    assert run.never_woke == "blocked in recvfrom() on a socket with no timeout"
    assert run.duration < BUDGET / 2
