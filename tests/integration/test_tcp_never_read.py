"""A slice is not waited for once the server can never read it: the socket layer tells NeverRead.

On this machine's loopback, with real sockets: what the server has read and whether it let
go of its end are read from /proc (grader.sandbox.sockets), our side's state from TCP_INFO.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from grader import netio
from grader.sandbox.sockets import read_released, read_unread
from grader.tcp_actions import AskUnread, Connect, NeverRead, Send, Sent, UnreadBytes

SETTLE = 5.0  # seconds a socket state may take to show on a busy machine


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


@pytest.fixture
def link(listener):
    port = listener.getsockname()[1]
    link = netio._TcpLink(
        listener.getsockname(),
        socket.socket,
        lambda peer: read_unread(os.getpid(), port, peer),
        time.monotonic(),
        lambda peer: read_released(os.getpid(), port, peer),
    )
    link.perform(Connect(1, 5.0, True))
    yield link
    link.close()


def our_state_becomes(link: netio._TcpLink, state: int) -> None:
    deadline = time.monotonic() + SETTLE
    while netio.tcp_state(link.sockets[1]) != state and time.monotonic() < deadline:
        time.sleep(0.01)
    assert netio.tcp_state(link.sockets[1]) == state


def test_a_slice_sent_to_a_server_that_has_not_read_it_is_counted_as_unread(listener, link):
    accepted, _ = listener.accept()
    with accepted:
        assert isinstance(link.perform(Send(1, b"slice", 5.0)), Sent)
        deadline = time.monotonic() + SETTLE
        while getattr(answer := link.perform(AskUnread(1)), "count", None) != 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(answer, UnreadBytes) and answer.count == 5


def test_a_server_that_closed_its_end_can_never_read_again(listener, link):
    accepted, _ = listener.accept()
    accepted.close()
    our_state_becomes(link, netio.TCP_CLOSE_WAIT)

    assert isinstance(link.perform(AskUnread(1)), NeverRead)


def test_a_connection_the_server_reset_can_never_be_read_again(listener, link):
    accepted, _ = listener.accept()
    accepted.close()
    our_state_becomes(link, netio.TCP_CLOSE_WAIT)
    link.perform(Send(1, b"after the close", 5.0))  # meets the closed end: the kernel answers RST
    our_state_becomes(link, netio.TCP_CLOSE)

    assert isinstance(link.perform(AskUnread(1)), NeverRead)


def test_a_server_that_only_shut_down_its_writing_may_still_read(listener, link):
    accepted, _ = listener.accept()
    with accepted:
        accepted.shutdown(socket.SHUT_WR)
        our_state_becomes(link, netio.TCP_CLOSE_WAIT)

        assert isinstance(link.perform(AskUnread(1)), UnreadBytes)


def test_without_a_way_to_tell_whether_the_server_let_go_a_closed_end_is_not_called_dead(listener):
    link = netio._TcpLink(listener.getsockname(), socket.socket, lambda peer: None, time.monotonic(), None)
    link.perform(Connect(1, 5.0, True))
    try:
        accepted, _ = listener.accept()
        accepted.close()
        our_state_becomes(link, netio.TCP_CLOSE_WAIT)

        answer = link.perform(AskUnread(1))
        assert isinstance(answer, UnreadBytes) and answer.count is None
    finally:
        link.close()
