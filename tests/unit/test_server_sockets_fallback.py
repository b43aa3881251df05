"""A server's sockets are read through sock_diag; any failure of it falls back to /proc, never a crashed check."""

from __future__ import annotations

import os
import socket
import threading

from grader.sandbox.launcher_container import Seen
from grader.sandbox.server_container import ServerRun


class BrokenNetlink:
    """Stands for an answer too big to read, or one left out of step."""

    closed = False

    def send(self, data: bytes) -> int:
        raise OSError("the sock_diag answer ended early or never ends")

    def settimeout(self, seconds: float) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Container:
    """A server's container whose launcher is this process, with a broken sock_diag socket."""

    def __init__(self, netlink: BrokenNetlink):
        self._launcher = os.getpid()
        self._usage = None
        self._diag = netlink
        self._diag_lock = threading.Lock()

    def _begin(self, command: tuple[str, ...], stdin: bytes) -> Seen:
        return Seen(exited={"status": 0}, cleaned={"clean": True})  # a run already over: nothing to read

    def _receive(self, timeout: float, seen: Seen) -> None:
        pass


def test_a_sock_diag_that_fails_is_dropped_and_proc_answers_instead():
    netlink = BrokenNetlink()
    server = ServerRun(Container(netlink), ("true",), 12000, os.getuid(), lambda container: None)  # type: ignore[arg-type]
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        found = server.bound_sockets()
        assert found is not None
        assert server.unread_bytes(port) is None
        assert netlink.closed
        assert server.bound_sockets() == found  # from /proc again, without a second try of sock_diag
