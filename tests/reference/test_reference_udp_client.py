"""Behaviour of reference/udp_client.py against the reference server and scripted fakes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RunScript, ServerProcess

CLIENT = Path(__file__).resolve().parents[2] / "reference" / "udp_client.py"
LOCALHOST = "127.0.0.1"
# Short waits where a reply is meant to be missing, so the suite stays quick;
# long ones where it is meant to come, so a slow machine does not cause a retransmission.
FAST = ("--timeout", "0.3")
PATIENT = ("--timeout", "2")
PROMPT = b"Input lowercase sentence: "

Respond = Callable[[socket.socket, bytes, tuple[str, int], int], None]


class FakeUdpServer:
    """A scripted UDP server in a thread on 127.0.0.1.

    respond(sock, datagram, sender, number) decides what goes back; `number` counts the
    datagrams received so far, starting at 1.
    """

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.received: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCALHOST, 0))
        self.sock.settimeout(0.05)
        self.port = str(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeUdpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                datagram, sender = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.received.append(datagram)
            self.respond(self.sock, datagram, sender, len(self.received))


def uppercase_reply(sock: socket.socket, datagram: bytes, sender: tuple[str, int], number: int) -> None:
    sock.sendto(datagram.upper(), sender)


def never_reply(sock: socket.socket, datagram: bytes, sender: tuple[str, int], number: int) -> None:
    pass


def test_udp_client_prints_the_reply_to_each_line(udp_server: ServerProcess, run_script: RunScript) -> None:
    result = run_script(
        "udp_client.py",
        "--host",
        LOCALHOST,
        "--port",
        str(udp_server.port),
        *PATIENT,
        input="hello\nstraße\n\nMixed Case 42\n".encode(),
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"HELLO\nSTRASSE\n\nMIXED CASE 42\n"


def test_udp_client_passes_bytes_that_are_not_utf8_through(udp_server: ServerProcess, run_script: RunScript) -> None:
    result = run_script(
        "udp_client.py", "--host", LOCALHOST, "--port", str(udp_server.port), *PATIENT, input=b"\xff\xfeabc\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"\xff\xfeABC\n", b"")


def test_udp_client_sends_each_line_without_its_newline(run_script: RunScript) -> None:
    with FakeUdpServer(uppercase_reply) as fake:
        result = run_script("udp_client.py", "--host", LOCALHOST, "--port", fake.port, *PATIENT, input=b"one\ntwo\n")
    assert result.returncode == 0
    assert fake.received == [b"one", b"two"]


def test_udp_client_retransmits_when_the_first_datagram_is_lost(run_script: RunScript) -> None:
    def drop_first(sock: socket.socket, datagram: bytes, sender: tuple[str, int], number: int) -> None:
        if number > 1:
            sock.sendto(datagram.upper(), sender)

    with FakeUdpServer(drop_first) as fake:
        result = run_script("udp_client.py", "--host", LOCALHOST, "--port", fake.port, *FAST, input=b"hello\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"HELLO\n", b"")
    assert len(fake.received) >= 2 and set(fake.received) == {b"hello"}


def test_udp_client_does_not_take_a_duplicate_reply_for_the_next_lines_answer() -> None:
    answered_twice = threading.Event()

    def reply_twice(sock: socket.socket, datagram: bytes, sender: tuple[str, int], number: int) -> None:
        sock.sendto(datagram.upper(), sender)
        sock.sendto(datagram.upper(), sender)
        answered_twice.set()

    with FakeUdpServer(reply_twice) as fake:
        client = subprocess.Popen(
            [sys.executable, "-u", str(CLIENT), "--host", LOCALHOST, "--port", fake.port, *PATIENT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert client.stdin is not None
            client.stdin.write(b"first\n")
            client.stdin.flush()
            # The second line goes in only once both answers to the first are on their way.
            assert answered_twice.wait(timeout=5)
            out, err = client.communicate(b"second\n", timeout=10)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    assert (client.returncode, out, err) == (0, b"FIRST\nSECOND\n", b"")


def test_udp_client_ignores_datagrams_from_other_addresses(run_script: RunScript) -> None:
    def impostor_first(sock: socket.socket, datagram: bytes, sender: tuple[str, int], number: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as impostor:
            impostor.bind((LOCALHOST, 0))
            impostor.sendto(b"IMPOSTOR", sender)
        sock.sendto(datagram.upper(), sender)

    with FakeUdpServer(impostor_first) as fake:
        result = run_script("udp_client.py", "--host", LOCALHOST, "--port", fake.port, *PATIENT, input=b"hello\n")
    assert (result.returncode, result.stdout) == (0, b"HELLO\n")


def test_udp_client_gives_up_after_the_configured_number_of_retries(run_script: RunScript) -> None:
    with FakeUdpServer(never_reply) as fake:
        result = run_script(
            "udp_client.py",
            "--host",
            LOCALHOST,
            "--port",
            fake.port,
            *FAST,
            "--retries",
            "2",
            input=b"hello\nnever sent\n",
        )
    assert result.returncode == 1
    assert fake.received == [b"hello"] * 3
    assert result.stderr.decode() == f"udp_client: no reply from {LOCALHOST}:{fake.port} after 3 attempts\n"


def test_udp_client_without_a_server_exits_1_with_a_one_line_message(run_script: RunScript) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOCALHOST, 0))
        port = str(probe.getsockname()[1])  # free once the probe closes: nobody listens there
    # Timeouts long enough that only the kernel's refusal, not a wait, can end it.
    result = run_script("udp_client.py", "--host", LOCALHOST, "--port", port, "--timeout", "60", input=b"hello\n")
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == f"udp_client: cannot send to {LOCALHOST}:{port}: Connection refused\n"


def test_udp_client_prints_no_prompt_when_stdin_is_not_a_terminal(
    udp_server: ServerProcess, run_script: RunScript
) -> None:
    result = run_script(
        "udp_client.py", "--host", LOCALHOST, "--port", str(udp_server.port), *PATIENT, input=b"hello\n"
    )
    assert PROMPT.strip() not in result.stdout


def test_udp_client_prompts_when_stdin_is_a_terminal(
    udp_server: ServerProcess, run_script_in_terminal: RunScript
) -> None:
    result = run_script_in_terminal(
        "udp_client.py", "--host", LOCALHOST, "--port", str(udp_server.port), *PATIENT, input=b"hello\n"
    )
    assert (result.returncode, result.stdout) == (0, PROMPT + b"HELLO\n" + PROMPT)
