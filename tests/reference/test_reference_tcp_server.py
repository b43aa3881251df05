"""Behaviour of reference/tcp_server.py, observed over real sockets on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RunScript, ServerProcess, StartServer

LOCALHOST = "127.0.0.1"
REPLY_TIMEOUT = 2.0
PAUSE = 0.05  # between the pieces of a split request
# The quiet period only has to outlast the pauses; 20 times longer keeps a busy machine
# from ending the request early, and costs nothing: the request ends otherwise.
SPLIT_QUIET_PERIOD = "1"


def connect(server: ServerProcess, timeout: float = REPLY_TIMEOUT) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=timeout)
    # Without Nagle's algorithm each send() leaves at once as its own segment.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, limit: int = 4 * 1024 * 1024) -> bytes:
    received = bytearray()
    while len(received) <= limit:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(received)
        received += chunk
    raise AssertionError(f"more than {limit} bytes and the server has still not closed")


def ask(server: ServerProcess, *pieces: bytes, half_close: bool = False) -> bytes:
    """Send `pieces` with a pause between them, then read the reply until the server closes."""
    with connect(server) as sock:
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(PAUSE)
            sock.sendall(piece)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)


def reset(sock: socket.socket) -> None:
    """Close so that the peer gets a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_tcp_server_announces_its_address_on_startup(tcp_server: ServerProcess) -> None:
    assert tcp_server.banner == f"TCP server listening on {LOCALHOST}:{tcp_server.port}\n".encode()


def test_tcp_server_answers_a_textbook_client_that_sends_once_and_waits(tcp_server: ServerProcess) -> None:
    with connect(tcp_server) as sock:
        sock.send(b"hello, world")  # no newline, no half-close: as in the textbook
        assert sock.recv(1024) == b"HELLO, WORLD"


def test_tcp_server_uppercases_sharp_s_to_double_s(tcp_server: ServerProcess) -> None:
    assert ask(tcp_server, "straße\n".encode()) == b"STRASSE\n"


def test_tcp_server_passes_bytes_that_are_not_utf8_through_unchanged(tcp_server: ServerProcess) -> None:
    assert ask(tcp_server, b"\xff\xfeabc", half_close=True) == b"\xff\xfeABC"


def test_tcp_server_replies_at_a_newline_without_waiting_for_silence(start_server: StartServer) -> None:
    server = start_server("tcp_server.py", "--quiet-period", "5")
    assert ask(server, b"hello\n") == b"HELLO\n"  # within REPLY_TIMEOUT, far below 5 s


def test_tcp_server_replies_at_half_close_without_waiting_for_silence(start_server: StartServer) -> None:
    server = start_server("tcp_server.py", "--quiet-period", "5")
    assert ask(server, b"hello", half_close=True) == b"HELLO"


def test_tcp_server_joins_a_request_split_into_three_writes_ending_in_a_newline(
    start_server: StartServer,
) -> None:
    server = start_server("tcp_server.py", "--quiet-period", SPLIT_QUIET_PERIOD)
    assert ask(server, b"one ", b"two ", b"three\n") == b"ONE TWO THREE\n"


def test_tcp_server_joins_a_request_split_into_three_writes_ending_in_half_close(
    start_server: StartServer,
) -> None:
    server = start_server("tcp_server.py", "--quiet-period", SPLIT_QUIET_PERIOD)
    assert ask(server, b"one ", b"two ", b"three", half_close=True) == b"ONE TWO THREE"


def test_tcp_server_closes_the_connection_after_replying(tcp_server: ServerProcess) -> None:
    with connect(tcp_server) as sock:
        sock.sendall(b"hello\n")
        assert sock.recv(1024) == b"HELLO\n"
        assert sock.recv(1024) == b""


def test_tcp_server_answers_twenty_concurrent_clients_each_with_its_own_reply(
    start_server: StartServer,
) -> None:
    # Textbook clients end their request only by falling silent: one at a time that
    # would take 20 x 0.5 s, far longer than each client waits for its reply.
    server = start_server("tcp_server.py", "--quiet-period", "0.5")
    count = 20
    replies: dict[int, bytes | str] = {}
    all_connected = threading.Barrier(count, timeout=REPLY_TIMEOUT)

    def client(number: int) -> None:
        try:
            with connect(server) as sock:
                all_connected.wait()
                sock.sendall(f"client number {number}".encode())
                replies[number] = sock.recv(1024)
        except (OSError, threading.BrokenBarrierError) as exc:
            replies[number] = repr(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * REPLY_TIMEOUT)
    assert replies == {n: f"CLIENT NUMBER {n}".encode() for n in range(count)}


def test_tcp_server_serves_a_new_client_while_an_earlier_one_is_still_silent(
    tcp_server: ServerProcess,
) -> None:
    with connect(tcp_server):
        assert ask(tcp_server, b"next, please\n") == b"NEXT, PLEASE\n"


def test_tcp_server_closes_an_idle_connection_without_a_reply(start_server: StartServer) -> None:
    server = start_server("tcp_server.py", "--idle-timeout", "0.5")
    with connect(server) as sock:
        assert read_until_closed(sock) == b""


def test_tcp_server_replies_once_a_request_reaches_one_mebibyte(start_server: StartServer) -> None:
    server = start_server("tcp_server.py", "--quiet-period", "5")
    request = b"a" * (1024 * 1024)
    with connect(server) as sock:
        sock.sendall(request)  # no newline, no half-close: only the size limit ends it
        assert read_until_closed(sock) == request.upper()


@pytest.mark.parametrize("sent_first", [b"", b"half a sentence"], ids=["at-once", "mid-request"])
def test_tcp_server_survives_a_client_that_resets_the_connection(tcp_server: ServerProcess, sent_first: bytes) -> None:
    sock = connect(tcp_server)
    sock.sendall(sent_first)
    reset(sock)
    # A textbook request takes the quiet period, time enough for the reset to be handled.
    with connect(tcp_server) as sock:
        sock.sendall(b"still there?")
        assert sock.recv(1024) == b"STILL THERE?"
    assert tcp_server.stop() == 0
    assert tcp_server.stderr == b""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_tcp_server_exits_0_when_asked_to_stop(tcp_server: ServerProcess, sig: signal.Signals) -> None:
    assert tcp_server.stop(sig) == 0
    assert b"Traceback" not in tcp_server.stderr


def test_tcp_server_exits_0_when_asked_to_stop_while_a_client_is_connected(
    tcp_server: ServerProcess,
) -> None:
    with connect(tcp_server):
        assert tcp_server.stop() == 0


def test_tcp_server_restarts_on_the_same_port_right_after_serving(start_server: StartServer) -> None:
    # The server closes first, so its side of each connection lingers in TIME_WAIT;
    # binding the port again at once works only with SO_REUSEADDR.
    first = start_server("tcp_server.py")
    assert ask(first, b"hello\n") == b"HELLO\n"
    assert first.stop() == 0
    again = start_server("tcp_server.py", port=first.port)
    assert ask(again, b"hello again\n") == b"HELLO AGAIN\n"


def test_tcp_server_exits_1_with_a_message_when_its_port_is_taken(run_script: RunScript) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOCALHOST, 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_script("tcp_server.py", "--host", LOCALHOST, "--port", str(port))
    assert result.returncode == 1
    expected = f"tcp_server: cannot listen on {LOCALHOST}:{port}: Address already in use\n"
    assert result.stderr.decode() == expected
