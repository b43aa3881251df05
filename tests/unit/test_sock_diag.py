"""sock_diag's request and answer, as bytes: what the kernel is asked and how its answer is read."""

from __future__ import annotations

import socket
import struct

import pytest

from grader.sandbox import sock_diag

HEADER = struct.Struct("=IHHII")


def answer_message(family: int, state: int, local: tuple[bytes, int], remote: tuple[bytes, int], queues=(0, 0), uid=0):
    body = struct.pack("=BBBB", family, state, 0, 0)
    body += struct.pack(">HH16s16s", local[1], remote[1], local[0].ljust(16, b"\0"), remote[0].ljust(16, b"\0"))
    body += struct.pack("=III", 0, 0, 0)  # interface, cookie
    body += struct.pack("=IIIII", 0, queues[0], queues[1], uid, 4242)
    return HEADER.pack(HEADER.size + len(body), sock_diag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


DONE = HEADER.pack(HEADER.size + 4, sock_diag.NLMSG_DONE, 2, 1, 0) + struct.pack("=i", 0)


def test_a_request_asks_for_a_dump_of_tcp_sockets_of_one_family_in_the_wanted_states():
    raw = sock_diag.request(socket.AF_INET6, sock_diag.states(sock_diag.TCP_LISTEN))
    length, kind, flags, _, _ = HEADER.unpack_from(raw)
    family, protocol, _, wanted = struct.unpack_from("=BBBxI", raw, HEADER.size)
    assert length == len(raw) == HEADER.size + 8 + 48
    assert (kind, flags) == (sock_diag.SOCK_DIAG_BY_FAMILY, sock_diag.NLM_F_REQUEST | sock_diag.NLM_F_DUMP)
    assert (family, protocol, wanted) == (socket.AF_INET6, socket.IPPROTO_TCP, 1 << 10)


def test_an_answer_gives_each_sockets_addresses_queues_and_owner_then_says_it_is_complete():
    data = answer_message(
        socket.AF_INET, 1, (bytes([127, 0, 0, 2]), 12000), (bytes([127, 0, 0, 1]), 40000), (5, 7), 10001
    )
    found, done = sock_diag.parse(data + DONE)
    assert done
    assert found == [sock_diag.DiagSocket(2, 1, ("127.0.0.2", 12000), ("127.0.0.1", 40000), 5, 7, 10001, 4242)]


def test_an_ipv6_socket_holding_a_mapped_ipv4_address_is_shown_as_ipv4():
    mapped = bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 2])
    (found,), done = sock_diag.parse(answer_message(socket.AF_INET6, 10, (mapped, 12000), (bytes(16), 0)))
    assert not done
    assert found.local == ("127.0.0.2", 12000) and found.remote == ("::", 0)


def test_the_kernels_refusal_is_an_error_not_an_empty_answer():
    refusal = HEADER.pack(HEADER.size + 4, sock_diag.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -1)
    with pytest.raises(OSError):
        sock_diag.parse(refusal)


def test_a_truncated_answer_is_an_error():
    with pytest.raises(OSError, match="truncated"):
        sock_diag.parse(answer_message(socket.AF_INET, 1, (bytes(4), 1), (bytes(4), 2))[:-4])
