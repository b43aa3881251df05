"""The launcher a client's container starts, run here on 127.0.0.1 as the container runs it.

It waits for the grader's go, then becomes the program with the typed input on stdin.
Every wait is bounded; the launcher exits by itself after its lifetime.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from grader.sandbox.docker import LAUNCHER, SandboxError, _go
from grader.sandbox.launcher import GONE, NOT_FOUND

LIFETIME = 10.0
UPPER = ("python3", "-c", "import sys; print(sys.stdin.buffer.read().upper()); print(sys.argv[1:])", "a b", "")


def launcher(lifetime: float = LIFETIME) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", LAUNCHER, f"{lifetime:g}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.fixture
def launched():
    started: list[subprocess.Popen] = []

    def start(lifetime: float = LIFETIME) -> subprocess.Popen:
        process = launcher(lifetime)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait(timeout=5)


def test_the_go_makes_the_launcher_the_program_with_the_typed_bytes_on_stdin(launched):
    process = launched()
    _go(socket.socket, UPPER, b"hello \xff\n")
    out, _ = process.communicate(timeout=10)
    assert out.decode().splitlines() == ["b'HELLO \\xff\\n'", "['a b', '']"]
    assert process.returncode == 0


def test_a_go_sent_before_the_launcher_listens_is_sent_again_until_it_is_heard(launched):
    starting = threading.Timer(0.3, launched)
    starting.start()
    begun = time.monotonic()
    _go(socket.socket, ("true",), b"")
    starting.join()
    assert time.monotonic() - begun >= 0.3


def test_a_command_that_cannot_run_exits_127_and_says_why(launched):
    process = launched()
    _go(socket.socket, ("no-such-program",), b"")
    _, err = process.communicate(timeout=10)
    assert process.returncode == NOT_FOUND
    assert b"no-such-program: No such file or directory" in err


def test_with_no_go_the_launcher_ends_by_itself_after_its_lifetime(launched):
    process = launched(lifetime=0.3)
    assert process.wait(timeout=10) == GONE


def test_input_over_half_a_pipe_is_refused_before_anything_is_sent():
    with pytest.raises(SandboxError, match="over 32 KiB"):
        _go(socket.socket, ("true",), b"x" * (33 << 10))
