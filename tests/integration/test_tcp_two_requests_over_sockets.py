"""The `tcp_two_requests` kind over real sockets on 127.0.0.1: a looping server passes, the textbook's fails."""

from __future__ import annotations

import socket
import threading

import pytest

from grader import netio
from grader.scenarios.tcp_two_requests import TwoRequestsMachine, TwoRequestsParams, judge, plan
from grader.scripted_server import uppercase


def serve(loop: bool):
    """One connection: upper-case each recv, until the client closes (`loop`), or only the first (the textbook's)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def run() -> None:
        with listener, listener.accept()[0] as conn:
            conn.settimeout(10)
            for _ in range(10 if loop else 1):
                data = conn.recv(2048)
                if not data:
                    return
                conn.sendall(uppercase(data))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname(), thread


@pytest.mark.parametrize(("loop", "passes"), [(True, True), (False, False)], ids=["looping server", "textbook server"])
def test_two_requests_on_one_connection_are_answered_only_by_a_server_that_loops(loop, passes):
    target, thread = serve(loop)
    machine = TwoRequestsMachine(plan(TwoRequestsParams(reply_timeout=2.0), uppercase, seed=1), stop_at=20.0)
    netio.play_tcp(machine, target)
    thread.join(timeout=10)
    assert judge(machine).passed is passes
