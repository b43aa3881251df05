"""A server's sockets are read through sock_diag; any failure of it falls back to /proc, never a crashed check."""

from __future__ import annotations

import os
import socket

from grader.sandbox.docker import DockerServer


class Container:
    def __init__(self) -> None:
        self.attrs = {"State": {"Pid": os.getpid()}}

    def reload(self) -> None:
        pass


class BrokenNetlink:
    """Stands for an answer too big to read, or one left out of step."""

    closed = False

    def send(self, data: bytes) -> int:
        raise OSError("the sock_diag answer ended early or never ends")

    def settimeout(self, seconds: float) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Sockets:
    def __init__(self, netlink: BrokenNetlink):
        self.netlink = netlink

    def __call__(self, family: int, kind: int, proto: int = 0):
        return self.netlink if family == socket.AF_NETLINK else socket.socket(family, kind, proto)

    def close(self) -> None:
        pass


def test_a_sock_diag_that_fails_is_dropped_and_proc_answers_instead():
    netlink = BrokenNetlink()
    server = DockerServer(Container(), 12000, lambda: Sockets(netlink), lambda container: None)
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        found = server.bound_sockets()
        assert found is not None
        assert server.unread_bytes(port) is None
    assert netlink.closed
    assert server.bound_sockets() == found  # from /proc again, without a second try of sock_diag
