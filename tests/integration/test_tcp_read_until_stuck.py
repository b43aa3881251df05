"""A Read(until_stuck) ends as soon as the look-out says the server is blocked forever, and not before.

On this machine's loopback, with real sockets; the look-out is a stand-in (the real one,
grader.sandbox.blocked over a container's /proc, is tested in tests/docker).
"""

from __future__ import annotations

import socket
import time

import pytest

from grader import netio
from grader.tcp_actions import Connect, Read, Received, Stuck, TimedOut

HOW = "blocked in recv() on a socket with no timeout"


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def link_to(listener: socket.socket, lookout) -> netio._TcpLink:
    link = netio._TcpLink(listener.getsockname(), socket.socket, None, time.monotonic(), None, lambda: lookout)
    link.perform(Connect(1, 5.0, True))
    return link


def stuck_from(seconds: float):
    start = time.monotonic()
    return lambda now: HOW if now - start >= seconds else None


def test_a_read_ends_as_stuck_once_the_lookout_says_so(listener):
    link = link_to(listener, stuck_from(0.2))
    try:
        event = link.perform(Read(1, 10.0, until_stuck=True))
    finally:
        link.close()

    assert isinstance(event, Stuck) and event.how == HOW
    assert event.t < 5.0  # long before the read's own timeout


def test_a_reply_that_comes_is_read_while_the_lookout_says_nothing(listener):
    link = link_to(listener, lambda now: None)
    try:
        accepted, _ = listener.accept()
        with accepted:
            accepted.sendall(b"REPLY")
            event = link.perform(Read(1, 10.0, until_stuck=True))
    finally:
        link.close()

    assert isinstance(event, Received) and event.data == b"REPLY"


def test_a_lookout_that_never_says_stuck_leaves_the_reads_own_timeout(listener):
    link = link_to(listener, lambda now: None)
    try:
        event = link.perform(Read(1, 0.3, until_stuck=True))
    finally:
        link.close()

    assert isinstance(event, TimedOut) and event.t >= 0.3


def test_a_read_that_does_not_ask_never_consults_the_lookout(listener):
    asked = []
    link = link_to(listener, lambda now: asked.append(now) or HOW)
    try:
        event = link.perform(Read(1, 0.3))
    finally:
        link.close()

    assert isinstance(event, TimedOut) and asked == []
