"""The grader's side of a client's container, against a fake launcher on this machine's loopback.

The fake stands for a launcher that dies during a run: only the program can bring that
about (its memory, or limits it set on the launcher), and the kernel then kills every
process of the program, so the run ends as the program's, never as a grader error.
"""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from grader.sandbox.client_container import KILLED, ClientContainer
from grader.sandbox.launcher import CONTROL_PORT, READY, RUN, STDOUT, Frames, frame


class HostSockets:
    """Sockets of this machine's own namespace, as a container's would be made."""

    def __call__(self, family: int, kind: int) -> socket.socket:
        return socket.socket(family, kind)

    def close(self) -> None:
        pass


@pytest.fixture
def launcher_that_dies_during_the_run():
    listener = socket.create_server(("127.0.0.1", CONTROL_PORT))
    orders: list[dict] = []

    def serve() -> None:
        channel, _ = listener.accept()
        with channel:
            channel.sendall(frame(READY))
            frames = Frames()
            while not orders:
                for kind, payload in frames.feed(channel.recv(1 << 16)):
                    if kind == RUN:
                        orders.append(json.loads(payload))
            channel.sendall(frame(STDOUT, b"partial"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield orders
    thread.join(10)
    listener.close()


def test_a_launcher_lost_during_a_run_ends_the_run_as_killed_and_the_container_is_not_lent_again(
    launcher_that_dies_during_the_run,
):
    me = os.getpid()
    client = ClientContainer(None, me, HostSockets(), lambda: [me], 60.0)
    try:
        ran = client.run(("python3", "client.py"), b"hello\n", 5.0, None)
    finally:
        client.close()
    assert launcher_that_dies_during_the_run == [{"argv": ["python3", "client.py"], "stdin": "aGVsbG8K"}]
    assert ran.stdout == "partial"
    assert ran.exit is not None and ran.exit.code == KILLED and not ran.hung
    assert not client.reusable
