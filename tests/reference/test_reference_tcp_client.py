"""Behaviour of reference/tcp_client.py against the reference server and scripted fakes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RunScript, ServerProcess

LOCALHOST = "127.0.0.1"
# Short waits where a reply is meant to be missing, long ones where it is meant to come.
FAST = ("--timeout", "0.3")
PATIENT = ("--timeout", "2")
PROMPT = b"Input lowercase sentence: "
FAKE_READ_TIMEOUT = 1.0

Handle = Callable[[socket.socket, "FakeTcpServer"], None]


class FakeTcpServer:
    """A scripted TCP server in a thread on 127.0.0.1: handle(conn, fake) per connection."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.requests: list[bytes] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((LOCALHOST, 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.port = str(self.listener.getsockname()[1])
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeTcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(FAKE_READ_TIMEOUT)
                self.handle(conn, self)

    def read_until_half_close(self, conn: socket.socket) -> bytes | None:
        """The request, or None if the client never half-closed."""
        received = bytearray()
        for _ in range(1000):
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                self.requests.append(bytes(received))
                return bytes(received)
            received += chunk
        return None


def reply_after_half_close(conn: socket.socket, fake: FakeTcpServer) -> None:
    request = fake.read_until_half_close(conn)
    if request is not None:
        conn.sendall(request.upper())


def test_tcp_client_prints_the_reply_to_each_line(tcp_server: ServerProcess, run_script: RunScript) -> None:
    result = run_script(
        "tcp_client.py",
        "--host",
        LOCALHOST,
        "--port",
        str(tcp_server.port),
        *PATIENT,
        input="hello\nstraße\n\nMixed Case 42\n".encode(),
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"HELLO\nSTRASSE\n\nMIXED CASE 42\n"


def test_tcp_client_passes_bytes_that_are_not_utf8_through(tcp_server: ServerProcess, run_script: RunScript) -> None:
    result = run_script(
        "tcp_client.py", "--host", LOCALHOST, "--port", str(tcp_server.port), *PATIENT, input=b"\xff\xfeabc\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"\xff\xfeABC\n", b"")


def test_tcp_client_sends_each_line_without_its_newline_and_half_closes(run_script: RunScript) -> None:
    with FakeTcpServer(reply_after_half_close) as fake:
        result = run_script("tcp_client.py", "--host", LOCALHOST, "--port", fake.port, *PATIENT, input=b"one\ntwo\n")
    assert (result.returncode, result.stdout) == (0, b"ONE\nTWO\n")
    assert fake.requests == [b"one", b"two"]


def test_tcp_client_reads_a_reply_that_arrives_in_pieces(run_script: RunScript) -> None:
    def reply_in_pieces(conn: socket.socket, fake: FakeTcpServer) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.recv(1024)
        for piece in (b"HEL", b"LO, WO", b"RLD"):
            conn.sendall(piece)
            time.sleep(0.05)

    with FakeTcpServer(reply_in_pieces) as fake:
        result = run_script(
            "tcp_client.py", "--host", LOCALHOST, "--port", fake.port, *PATIENT, input=b"hello, world\n"
        )
    assert (result.returncode, result.stdout) == (0, b"HELLO, WORLD\n")


def test_tcp_client_without_a_server_exits_1_with_a_one_line_message(run_script: RunScript) -> None:
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        result = run_script("tcp_client.py", "--host", LOCALHOST, "--port", str(port), *FAST, input=b"hello\n")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == f"tcp_client: cannot connect to {LOCALHOST}:{port}: Connection refused\n"


def test_tcp_client_gives_up_when_the_server_never_replies(run_script: RunScript) -> None:
    def hold_without_reply(conn: socket.socket, fake: FakeTcpServer) -> None:
        fake.stopping.wait(timeout=5)

    with FakeTcpServer(hold_without_reply) as fake:
        started = time.monotonic()
        result = run_script("tcp_client.py", "--host", LOCALHOST, "--port", fake.port, *FAST, input=b"hello\n")
        elapsed = time.monotonic() - started
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == f"tcp_client: no reply from {LOCALHOST}:{fake.port} within 0.3 s\n"
    assert elapsed < 4


def test_tcp_client_prints_no_prompt_when_stdin_is_not_a_terminal(
    tcp_server: ServerProcess, run_script: RunScript
) -> None:
    result = run_script(
        "tcp_client.py", "--host", LOCALHOST, "--port", str(tcp_server.port), *PATIENT, input=b"hello\n"
    )
    assert PROMPT.strip() not in result.stdout


def test_tcp_client_prompts_when_stdin_is_a_terminal(
    tcp_server: ServerProcess, run_script_in_terminal: RunScript
) -> None:
    result = run_script_in_terminal(
        "tcp_client.py", "--host", LOCALHOST, "--port", str(tcp_server.port), *PATIENT, input=b"hello\n"
    )
    assert (result.returncode, result.stdout) == (0, PROMPT + b"HELLO\n" + PROMPT)
