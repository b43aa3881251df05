"""The grader's scripted server (grader/scripted_server.py), run in a thread of the grader's process.

It serves a student's client for one run and writes what it saw as JSON events. It always
runs outside any student's sandbox (it is the grader's code); where the client is
sandboxed, it serves on sockets the grader made inside the client's network namespace.
A thread, not a process: a process of its own cost 90 ms of CPU and 19 MiB for each client
run, and the scripted server's work (a few datagrams, a timer or two) is small beside that.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import threading
from dataclasses import dataclass
from typing import TextIO, cast

from grader import scripted_server
from grader.sandbox import SocketFactory
from grader.scripted_server import QUIET_EVENT, parse_events

READY = '"event": "ready"'
QUIET = f'"event": "{QUIET_EVENT}"'
READY_WAIT = 10.0  # seconds; the server binds and reports at once unless the machine is swamped
STOP_WAIT = 3.0
MAX_LOG = 32 << 20  # characters of events kept: 200 events of at most 64 KiB each, in base64, stay below


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


class _Log(io.TextIOBase):
    """The events the server writes, kept in memory; read from the grader's other threads."""

    def __init__(self, ready: threading.Event):
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._size = 0
        self._last = ""
        self._ready = ready

    def write(self, text: str) -> int:
        with self._lock:
            if self._size + len(text) > MAX_LOG:
                raise ValueError("the scripted server's log is full")
            self._parts.append(text)
            self._size += len(text)
            self._last = text
        if READY in text or '"event": "error"' in text:
            self._ready.set()
        return len(text)

    def size_if_quiet(self) -> int | None:
        with self._lock:
            return self._size if QUIET in self._last else None

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


class ScriptedServer:
    """`with ScriptedServer(spec, lifetime, sockets) as server:` ... `server.events` once the `with` ends."""

    def __init__(
        self,
        spec: ScriptedServerSpec,
        lifetime: float,
        sockets: list[socket.socket] | None = None,
        host: str | None = None,
    ):
        """On `sockets` made for it (copies of them: the caller keeps its own); without them, it binds on `host`."""
        self.spec = spec
        self.events: list[dict] = []
        fds = [os.dup(s.fileno()) for s in sockets or []]
        handed = (["--fd", str(fds[0])] if fds else []) + (["--other-fd", str(fds[1])] if len(fds) > 1 else [])
        opts = scripted_server.parse_args(
            [*spec.arguments(lifetime), *handed, *(["--host", host] if host is not None else [])]
        )
        self._ready = threading.Event()
        self._log = _Log(self._ready)
        self._stop, stop = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, args=(opts, stop), name=f"scripted-{spec.transport}-{spec.behaviour}", daemon=True
        )
        self._thread.start()

    def _serve(self, opts: argparse.Namespace, stop: socket.socket) -> None:
        try:
            scripted_server.serve(opts, cast(TextIO, self._log), stop)  # it owns and closes the copies
        finally:
            self._ready.set()

    def __enter__(self) -> ScriptedServer:
        try:
            self._await_ready()
        except BaseException:
            self._end()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._end()

    def quiet(self) -> int | None:
        """While it has nothing scheduled, the length of its log (which grows with anything it does); else None."""
        size = self._log.size_if_quiet()
        return size if size is not None and self._thread.is_alive() else None

    def _await_ready(self) -> None:
        self._ready.wait(READY_WAIT)
        if READY not in self._log.text() or not self._thread.is_alive():
            raise ScriptedServerError(f"the scripted server did not start on port {self.spec.port}: is the port free?")

    def _end(self) -> None:
        """Told to stop, it writes its `end` event."""
        try:
            self._stop.send(b"x")
        except OSError:
            pass
        self._thread.join(STOP_WAIT)
        self._stop.close()
        self.events = parse_events(self._log.text())


def sockets_for(spec: ScriptedServerSpec, make_socket: SocketFactory) -> list[socket.socket]:
    """The unbound sockets the scripted server serves on: a second one where it replies from another port."""
    kind = socket.SOCK_DGRAM if spec.transport == "udp" else socket.SOCK_STREAM
    made = [make_socket(socket.AF_INET, kind)]
    if spec.behaviour == "wrong_port":
        made.append(make_socket(socket.AF_INET, socket.SOCK_DGRAM))
    return made
