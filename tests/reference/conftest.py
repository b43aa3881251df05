"""Fixtures for the reference programs' tests: free ports, server processes, client runs.

Everything talks over 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "reference"
LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
CLIENT_TIMEOUT = 10.0


def free_port(kind: socket.SocketKind) -> int:
    """A port on 127.0.0.1 that was free a moment ago, for a TCP or UDP socket."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((LOCALHOST, 0))
        return probe.getsockname()[1]


def script(name: str) -> str:
    return str(REFERENCE / name)


@dataclass
class ServerProcess:
    """A reference server running as a subprocess; its output is known once it has stopped."""

    proc: subprocess.Popen[bytes]
    port: int
    banner: bytes = b""
    stdout: bytes = b""
    stderr: bytes = b""
    returncode: int | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (LOCALHOST, self.port)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig`, wait (bounded) for the exit, collect the output; return the status."""
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                out, err = self.proc.communicate(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate(timeout=STOP_TIMEOUT)
            self.stdout, self.stderr = out, err
            self.returncode = self.proc.returncode
        return self.returncode


# The readiness probes accept any answer: checking its content is the tests' job, and a
# server that answers wrongly should fail those tests, not every fixture.


def udp_answers(address: tuple[str, int]) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.05)
        try:
            probe.sendto(b"ready?", address)
            return probe.recvfrom(1024)[1] == address
        except OSError:
            return False


def tcp_answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Factory: start_server("udp_server.py", "--quiet-period", "5", port=None).

    Returns once the server answers on its port and has printed its banner. Every server
    started is stopped at teardown.
    """
    started: list[ServerProcess] = []

    def start(name: str, *extra: str, port: int | None = None) -> ServerProcess:
        kind = socket.SOCK_DGRAM if name.startswith("udp") else socket.SOCK_STREAM
        answers = udp_answers if kind == socket.SOCK_DGRAM else tcp_answers
        # A free port can be taken by someone else before the server binds it:
        # try a few fresh ones, unless the test asked for a particular port.
        for _ in range(1 if port is not None else 3):
            chosen = port if port is not None else free_port(kind)
            proc = subprocess.Popen(
                [sys.executable, "-u", script(name), "--host", LOCALHOST, "--port", str(chosen), *extra],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            server = ServerProcess(proc, chosen)
            started.append(server)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                if answers(server.address):
                    # The banner is printed before serving starts, so it is already there;
                    # if it is not, whoever answered was another program on that port,
                    # and ours is exiting (readline then sees end of file).
                    assert proc.stdout is not None
                    if select.select([proc.stdout], [], [], STARTUP_TIMEOUT)[0]:
                        server.banner = proc.stdout.readline()
                    if server.banner:
                        return server
                    break
                time.sleep(0.02)
            server.stop()
            if b"cannot" not in server.stderr:
                break
        raise AssertionError(
            f"{name} did not start on {LOCALHOST}:{chosen}: "
            f"status {server.returncode}, stderr {server.stderr.decode(errors='replace')!r}"
        )

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def udp_server(start_server: StartServer) -> ServerProcess:
    return start_server("udp_server.py")


@pytest.fixture
def tcp_server(start_server: StartServer) -> ServerProcess:
    return start_server("tcp_server.py")


RunScript = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def run_script() -> RunScript:
    """run_script("udp_client.py", "--port", "1234", input=b"hello\\n"): run to completion."""

    def run(name: str, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-u", script(name), *args],
            input=input,
            capture_output=True,
            timeout=CLIENT_TIMEOUT,
        )

    return run


@pytest.fixture
def run_script_in_terminal() -> RunScript:
    """Like run_script, but standard input is a terminal (a pseudo-terminal we type into)."""

    def run(name: str, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        controller, terminal = pty.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-u", script(name), *args],
                stdin=terminal,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        finally:
            os.close(terminal)
        try:
            # Ctrl-D at the start of a line is how a terminal user types end of file.
            os.write(controller, input + b"\x04")
            out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(controller)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    return run
