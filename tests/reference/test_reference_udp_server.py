"""Behaviour of reference/udp_server.py, observed over real sockets on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from conftest import RunScript, ServerProcess

LOCALHOST = "127.0.0.1"
REPLY_TIMEOUT = 2.0


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOCALHOST, 0))
    sock.settimeout(REPLY_TIMEOUT)
    return sock


def ask(server: ServerProcess, payload: bytes) -> bytes:
    with udp_socket() as sock:
        sock.sendto(payload, server.address)
        reply, sender = sock.recvfrom(65535)
    assert sender == server.address
    return reply


def test_udp_server_announces_its_address_on_startup(udp_server: ServerProcess) -> None:
    assert udp_server.banner == f"UDP server listening on {LOCALHOST}:{udp_server.port}\n".encode()


def test_udp_server_uppercases_a_sentence(udp_server: ServerProcess) -> None:
    assert ask(udp_server, b"hello, world 123") == b"HELLO, WORLD 123"


def test_udp_server_uppercases_sharp_s_to_double_s(udp_server: ServerProcess) -> None:
    assert ask(udp_server, "straße".encode()) == b"STRASSE"


def test_udp_server_passes_bytes_that_are_not_utf8_through_unchanged(udp_server: ServerProcess) -> None:
    assert ask(udp_server, b"\xff\xfeabc") == b"\xff\xfeABC"


def test_udp_server_answers_an_empty_datagram_with_an_empty_reply(udp_server: ServerProcess) -> None:
    assert ask(udp_server, b"") == b""


def test_udp_server_returns_a_60000_byte_datagram_whole(udp_server: ServerProcess) -> None:
    payload = b"abcdefghij" * 6000
    assert ask(udp_server, payload) == payload.upper()


def test_udp_server_truncates_a_reply_that_outgrows_the_largest_datagram(udp_server: ServerProcess) -> None:
    # U+0149 (2 bytes) upper-cases to U+02BC U+004E (3 bytes): 65,000 bytes in, 97,500 out.
    reply = ask(udp_server, "\u0149".encode() * 32500)
    assert len(reply) == 65507
    assert reply.startswith("\u02bcN\u02bcN".encode())


def test_udp_server_replies_to_each_sender(udp_server: ServerProcess) -> None:
    with udp_socket() as alice, udp_socket() as bob:
        alice.sendto(b"from alice", udp_server.address)
        bob.sendto(b"from bob", udp_server.address)
        assert bob.recvfrom(1024) == (b"FROM BOB", udp_server.address)
        assert alice.recvfrom(1024) == (b"FROM ALICE", udp_server.address)


def test_udp_server_keeps_serving_after_a_client_vanishes_before_its_reply(udp_server: ServerProcess) -> None:
    for _ in range(5):
        with udp_socket() as ghost:
            ghost.sendto(b"gone before the reply", udp_server.address)
    assert ask(udp_server, b"still there?") == b"STILL THERE?"


def test_udp_server_answers_any_datagram_with_its_uppercase_form(udp_server: ServerProcess) -> None:
    def expected(payload: bytes) -> bytes:
        return payload.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.binary(max_size=1024), st.text(max_size=256).map(str.encode)))
    def check(payload: bytes) -> None:
        assert ask(udp_server, payload) == expected(payload)

    check()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_udp_server_exits_0_when_asked_to_stop(udp_server: ServerProcess, sig: signal.Signals) -> None:
    assert udp_server.stop(sig) == 0
    assert b"Traceback" not in udp_server.stderr


def test_udp_server_exits_1_with_a_message_when_its_port_is_taken(run_script: RunScript) -> None:
    with udp_socket() as squatter:
        port = squatter.getsockname()[1]
        result = run_script("udp_server.py", "--host", LOCALHOST, "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.decode() == f"udp_server: cannot bind {LOCALHOST}:{port}: Address already in use\n"
