"""The grader's scripted server (grader/scripted_server.py) as a process of its own on the grading machine.

It serves a student's client for one run and writes what it saw as JSON events. It always
runs outside any student's sandbox (it is the grader's code); where the client is
sandboxed, it serves on sockets the grader made inside the client's network namespace and
handed down as inherited file descriptors.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO

from grader import PACKAGE_DIR
from grader.sandbox import SocketFactory
from grader.scripted_server import QUIET_EVENT, parse_events

SCRIPTED_SERVER = PACKAGE_DIR / "scripted_server.py"
READY = b'"event": "ready"'
QUIET = f'"event": "{QUIET_EVENT}"'.encode()
READY_WAIT = 10.0  # seconds; the server binds and reports at once unless the machine is swamped
STOP_WAIT = 3.0


@dataclass(frozen=True)
class ScriptedServerSpec:
    transport: str
    behaviour: str
    port: int
    delay: float
    pieces: int
    pause: float

    def arguments(self, lifetime: float) -> list[str]:
        return [
            "--transport",
            self.transport,
            "--behaviour",
            self.behaviour,
            "--port",
            str(self.port),
            "--delay",
            str(self.delay),
            "--pieces",
            str(self.pieces),
            "--pause",
            str(self.pause),
            "--lifetime",
            f"{lifetime:g}",
        ]


class ScriptedServerError(Exception):
    """The scripted server did not come up; the message says what was seen."""


class ScriptedServer:
    """`with ScriptedServer(spec, lifetime, sockets) as server:` ... `server.events` once the `with` ends."""

    def __init__(
        self,
        spec: ScriptedServerSpec,
        lifetime: float,
        sockets: list[socket.socket] | None = None,
        host: str | None = None,
    ):
        """On `sockets` made for it; without them, it binds its own on `host`."""
        self.spec = spec
        self.events: list[dict] = []
        self._log: IO[bytes] = tempfile.TemporaryFile()
        fds = [s.fileno() for s in sockets or []]
        handed = (["--fd", str(fds[0])] if fds else []) + (["--other-fd", str(fds[1])] if len(fds) > 1 else [])
        # -I: the grader's own standard-library program; nothing on this machine's paths may
        # change what it does.
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-u",
                str(SCRIPTED_SERVER),
                *spec.arguments(lifetime),
                *handed,
                *(["--host", host] if host is not None else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.DEVNULL,
            pass_fds=fds,
            start_new_session=True,
        )

    def __enter__(self) -> ScriptedServer:
        try:
            self._await_ready()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop()

    def quiet(self) -> int | None:
        """While it has nothing scheduled, the length of its log (which grows with anything it does); else None."""
        size = os.fstat(self._log.fileno()).st_size
        last = os.pread(self._log.fileno(), 256, max(0, size - 256)).rstrip(b"\n").rpartition(b"\n")[2]
        return size if QUIET in last and self._process.poll() is None else None

    def _await_ready(self) -> None:
        deadline = time.monotonic() + READY_WAIT
        while time.monotonic() < deadline:
            if READY in os.pread(self._log.fileno(), 1 << 16, 0):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.01)
        raise ScriptedServerError(f"the scripted server did not start on port {self.spec.port}: is the port free?")

    def _stop(self) -> None:
        """SIGTERM first: the scripted server then writes its `end` event."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.seek(0)
        self.events = parse_events(self._log.read().decode("utf-8", "replace"))
        self._log.close()


def sockets_for(spec: ScriptedServerSpec, make_socket: SocketFactory) -> list[socket.socket]:
    """The unbound sockets the scripted server serves on: a second one where it replies from another port."""
    kind = socket.SOCK_DGRAM if spec.transport == "udp" else socket.SOCK_STREAM
    made = [make_socket(socket.AF_INET, kind)]
    if spec.behaviour == "wrong_port":
        made.append(make_socket(socket.AF_INET, socket.SOCK_DGRAM))
    return made
