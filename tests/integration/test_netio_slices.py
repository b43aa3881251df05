"""A sliced TCP request stays sliced for a server that is slow to read: the grader waits until each slice is read.

The server is a thread on 127.0.0.1 that this test owns: it accepts, dawdles, then makes
one recv(1024), as the textbook does. Without the wait its dawdling merges the slices and
it passes by luck; with it, it always sees the first slice alone.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from grader import netio
from grader.sandbox.sockets import read_unread
from grader.scenarios.tcp_exchange import TcpClientMachine, TcpExchangeParams, judge, plan
from grader.scripted_server import uppercase


@pytest.fixture
def dawdling_server():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)

    def serve():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            time.sleep(0.3)  # longer than every pause between slices
            connection.sendall(connection.recv(1024).upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    thread.join(timeout=5)
    listener.close()


def _play(target, unread):
    params = TcpExchangeParams(pieces=3, pause=0.05, ending="half_close", reply_timeout=2.0)
    tcp_plan = plan(params, uppercase, seed=5)
    machine = TcpClientMachine(tcp_plan, watch_reads=unread is not None)
    netio.play_tcp(machine, target, unread=unread)
    return judge(tcp_plan, machine.records)


def test_with_the_read_wait_a_slow_reader_still_gets_the_first_slice_alone(dawdling_server):
    port = dawdling_server[1]
    verdict = _play(dawdling_server, lambda peer: read_unread(os.getpid(), port, peer))
    # It answered the first slice and closed; the next slice then met a closed connection.
    assert verdict.summary == "no reply on connection 0: while sending: Broken pipe"


def test_without_it_the_slices_merge_in_the_servers_buffer(dawdling_server):
    assert _play(dawdling_server, None).passed
