"""A connection the server closed first is closed with RST once the server let go of it: no TIME_WAIT is left.

On this machine's loopback, with real sockets: the server's end is read from /proc
(grader.sandbox.sockets.read_released), the close is the socket layer's (grader.netio).
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from grader import netio
from grader.sandbox.sockets import read_released
from grader.tcp_actions import Close, Connect, Read, Received

TIME_WAIT = "06"


def states_on(port: int) -> list[str]:
    """The state of every TCP socket whose local port is `port`, from this namespace's table."""
    found = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            found.append(fields[3])
    return found


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def connected(listener: socket.socket, released) -> tuple[netio._TcpLink, socket.socket]:
    link = netio._TcpLink(listener.getsockname(), socket.socket, None, time.monotonic(), released)
    link.perform(Connect(1, 5.0, False))
    accepted, _ = listener.accept()
    return link, accepted


def replied_and_closed(link: netio._TcpLink, accepted: socket.socket, fully: bool) -> None:
    accepted.sendall(b"REPLY")
    if fully:
        accepted.close()
    else:
        accepted.shutdown(socket.SHUT_WR)
    assert isinstance(link.perform(Read(1, 5.0)), Received)
    deadline = time.monotonic() + 5
    while link.sockets[1].recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"" and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_connection_the_server_closed_and_let_go_is_closed_with_rst_and_leaves_no_time_wait(listener):
    port = listener.getsockname()[1]
    link, accepted = connected(listener, lambda peer: read_released(os.getpid(), port, peer))
    replied_and_closed(link, accepted, fully=True)
    link.perform(Close(1, False))
    time.sleep(0.05)
    assert TIME_WAIT not in states_on(port)


def test_without_a_way_to_tell_the_close_is_a_fin_and_the_servers_side_waits_in_time_wait(listener):
    port = listener.getsockname()[1]
    link, accepted = connected(listener, None)
    replied_and_closed(link, accepted, fully=True)
    link.perform(Close(1, False))
    deadline = time.monotonic() + 5
    while TIME_WAIT not in states_on(port) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert TIME_WAIT in states_on(port)


def test_a_server_that_only_half_closed_still_holds_its_end_and_gets_a_fin(listener):
    port = listener.getsockname()[1]
    link, accepted = connected(listener, lambda peer: read_released(os.getpid(), port, peer))
    with accepted:
        replied_and_closed(link, accepted, fully=False)
        peer = link.sockets[1].getsockname()[1]
        assert not read_released(os.getpid(), port, peer)
        link.perform(Close(1, False))
        accepted.settimeout(5)
        assert accepted.recv(10) == b""  # our FIN: an RST would raise ConnectionResetError here
