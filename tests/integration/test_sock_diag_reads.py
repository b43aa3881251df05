"""sock_diag reads what /proc/net/tcp shows, on this machine's own namespace, for sockets the test makes."""

from __future__ import annotations

import os
import socket

import pytest

from grader.sandbox import sock_diag
from grader.sandbox.sockets import read_namespace, read_unread


@pytest.fixture
def diag():
    netlink = sock_diag.open_in(socket.socket)
    if netlink is None:
        pytest.skip("this machine's kernel offers no sock_diag netlink socket")
    yield netlink
    netlink.close()


def test_a_listening_socket_is_found_by_sock_diag_as_in_proc(diag):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        through_diag = [s for s in read_namespace(os.getpid(), os.getuid(), diag) if s.port == port]
        through_proc = [s for s in read_namespace(os.getpid(), os.getuid()) if s.port == port]
    assert through_diag == through_proc != []


def test_bytes_a_server_has_not_read_are_counted_by_sock_diag_as_in_proc(diag):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"x" * 100)
                peer = client.getsockname()[1]
                through_proc = read_unread(os.getpid(), port, peer)
                through_diag = read_unread(os.getpid(), port, peer, diag)
    assert through_diag == through_proc == 100
