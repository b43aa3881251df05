"""A server blocked forever behind a silent client is seen so from outside its container; one that could wake is not.

Each server runs in the Docker sandbox as the grader starts servers. The grader's
connection 0 stays silent, connection 1 sends a line: a one-at-a-time server with no
timeout then sleeps in recv() on connection 0 for good, which `watch_blocked` says once it
has held (grader.sandbox.blocked); a threaded server replies, and one with a timeout wakes.
"""

from __future__ import annotations

import socket
import textwrap
import time
from pathlib import Path

import pytest

from grader.model import Program, Role
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.server_container import ServerRun

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

WAIT = 10.0  # seconds any one thing below may take on a loaded machine
WATCHED = 1.5  # seconds a server that could wake is watched: five times the settling time

ONE_AT_A_TIME = """\
    from socket import *
    serverSocket = socket(AF_INET, SOCK_STREAM)
    serverSocket.bind(("", 12000))
    serverSocket.listen(1)
    while True:
        connectionSocket, addr = serverSocket.accept()
        {timeout}
        connectionSocket.send(connectionSocket.recv(1024).upper())
        connectionSocket.close()
    """
PROGRAMS = {
    "textbook": ONE_AT_A_TIME.format(timeout=""),
    "with_timeout": ONE_AT_A_TIME.format(timeout="connectionSocket.settimeout(30)"),
    "threaded": """\
        import socketserver
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.sendall(self.request.recv(1024).upper())
        socketserver.ThreadingTCPServer(("", 12000), Handler).serve_forever()
        """,
}


@pytest.fixture(scope="module")
def sandbox():
    sandbox = DockerSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("submission")
    for name, code in PROGRAMS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
    return folder


@pytest.fixture
def behind_a_silent_client(sandbox, folder, request):
    """The server named by the test's parameter, a silent connection 0, and a line sent on connection 1."""
    server = sandbox.start_server(folder, Program(Role.TCP_SERVER, ("python3", f"{request.param}.py")), 12000)
    assert isinstance(server, ServerRun)
    sockets = []
    try:
        assert until(lambda: any(s.port == 12000 for s in server.bound_sockets() or []))
        for _ in range(2):
            sock = server.make_socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.settimeout(WAIT)
            sock.connect(server.address("tcp"))
        sockets[1].sendall(b"hello")
        yield server, sockets[1]
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def until(condition, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while not (found := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("behind_a_silent_client", ["textbook"], indirect=True)
def test_a_one_at_a_time_server_with_no_timeout_is_seen_blocked_forever(behind_a_silent_client):
    server, _ = behind_a_silent_client
    lookout = server.watch_blocked()

    assert until(lambda: lookout(time.monotonic())) == "blocked in recvfrom() on a socket with no timeout"


@pytest.mark.parametrize("behind_a_silent_client", ["with_timeout"], indirect=True)
def test_a_server_whose_receive_has_a_timeout_is_never_called_blocked(behind_a_silent_client):
    server, _ = behind_a_silent_client
    lookout = server.watch_blocked()

    assert until(lambda: lookout(time.monotonic()), WATCHED) is None


@pytest.mark.parametrize("behind_a_silent_client", ["threaded"], indirect=True)
def test_a_threaded_server_replies_and_is_never_called_blocked(behind_a_silent_client):
    server, busy = behind_a_silent_client
    lookout = server.watch_blocked()

    assert busy.recv(100) == b"HELLO"
    assert until(lambda: lookout(time.monotonic()), WATCHED) is None
