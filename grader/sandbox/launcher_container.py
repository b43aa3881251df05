"""The grader's side of a container whose first process is grader.sandbox.launcher: one connection, one order per run.

The container starts the launcher, and the grader connects to it once, from inside the
container's network namespace, before any student program runs there. Each start of a
program is then an order on that connection: a new process in the same container, not a
new container. The launcher relays the program's output and its exit, and after each run
it kills whatever the run left and empties /tmp, /dev/shm and /dev/mqueue; the grader
checks from outside that only the launcher is left before it lends the container again
(to the next run of the same role of the same submission), and removes it otherwise.

A client runs to its end (grader.sandbox.client_container); a server runs until the
grader stops it or it crashes (grader.sandbox.server_container). Nothing here talks to
Docker: grader.sandbox.docker makes and removes the containers.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.sandbox import SandboxError
from grader.sandbox.launcher import CLEAN, CONTROL_PORT, EXITED, KILL_WAIT, READY, RUN, STDERR, STDOUT, Frames, frame
from grader.sandbox.netns import SocketMaker
from grader.sandbox.sock_diag import open_in as open_diag
from grader.sandbox.usage import CgroupUsage

CONNECT_WAIT = 10.0  # seconds for a new container's launcher to listen; it starts in well under one
CONNECT_RETRY = 0.01
CLEAN_WAIT = 2 * KILL_WAIT + 5.0  # seconds for the launcher to report a run's end and its cleaning
MAX_STDIN = 4 << 10  # bytes typed to a program: a page, which a pipe holds even when its user's pipes are shrunk
MAX_OUTPUT = 1 << 20  # bytes kept of each stream, the last ones: what Docker's log cap kept before

KILLED = 128 + 9  # the status of a program whose namespace lost its init: SIGKILL, from the kernel


class LauncherLost(Exception):
    """The launcher's connection closed."""


@dataclass
class Seen:
    """What the launcher has reported of the current run so far."""

    output: dict[bytes, bytearray] = field(default_factory=lambda: {STDOUT: bytearray(), STDERR: bytearray()})
    interleaved: bytearray = field(default_factory=bytearray)  # both streams in the order they came, as a log
    exited: dict | None = None
    cleaned: dict | None = None
    ready: bool = False  # the launcher's listener is closed


class LauncherContainer:
    """A running container whose launcher the grader is connected to; one run at a time, while it stays clean."""

    def __init__(
        self,
        handle: object,
        launcher_pid: int,
        make_socket: SocketMaker,
        pids: Callable[[], list[int] | None],
        idle_limit: float,
    ):
        """`launcher_pid`: the container's init, on this machine; `idle_limit`: seconds it may sit unused."""
        self.handle = handle  # the sandbox's own handle of the container (opaque here)
        self.make_socket = make_socket
        self._launcher = launcher_pid
        self._pids = pids
        self._idle_limit = idle_limit
        self._frames = Frames()
        self._channel = _connect(make_socket)
        self._diag = open_diag(make_socket)
        self._diag_lock = threading.Lock()  # one sock_diag request and its answer at a time, whichever run asks
        self._await_ready()
        found = pids()
        # Before any program runs, the container holds the launcher and nothing else. Where its
        # processes cannot be seen, nothing a run leaves can be checked: it serves one run only.
        self._checked = found is not None
        if found is not None and found != [launcher_pid]:
            self.close()
            raise SandboxError(f"the container holds {len(found)} processes before any run, not 1")
        usage = CgroupUsage.of(launcher_pid)
        self._usage = None if usage is None else usage.excluding(frozenset({launcher_pid}))
        self._last_used = time.monotonic()
        self.reusable = True  # False once a run left something behind, or the launcher is gone

    def _await_ready(self) -> None:
        """Until the launcher has taken our connection and closed its listener.

        The kernel completes a connection before the launcher accepts it: until then its
        listener is among the container's sockets, where it would pass for the server's.
        """
        seen = Seen()
        deadline = time.monotonic() + CONNECT_WAIT
        try:
            while not seen.ready and time.monotonic() < deadline:
                self._receive(deadline - time.monotonic(), seen)
        except LauncherLost:
            pass
        if not seen.ready:
            self.close()
            raise SandboxError(
                f"the container's launcher did not take the grader's connection within {CONNECT_WAIT:g} s "
                "(the engine is swamped)"
            )

    def _begin(self, command: tuple[str, ...], stdin: bytes) -> Seen:
        """Order one run of `command` with `stdin`; what it reports is gathered by `_receive`."""
        if len(stdin) > MAX_STDIN:
            raise SandboxError(f"the input typed to the program is over {MAX_STDIN >> 10} KiB")
        if not self.reusable:
            raise SandboxError("the container was not clean after its last run")
        self.reusable = False  # until the launcher and the host both find the run cleaned up
        order = {"argv": list(command), "stdin": base64.b64encode(stdin).decode()}
        try:
            self._send(frame(RUN, json.dumps(order).encode()))
        except LauncherLost:
            raise SandboxError("the container's launcher no longer takes orders") from None
        return Seen()

    def _finish(self, clean: bool) -> None:
        """The run is over: lend the container again only if the launcher cleaned up and the host sees it alone."""
        self.reusable = clean and self._checked and self._pids() == [self._launcher]
        self._last_used = time.monotonic()

    def _await_clean(self, seen: Seen) -> bool:
        """Read the rest of the run (its last output, its exit) up to the launcher's report on what it left."""
        deadline = time.monotonic() + CLEAN_WAIT
        while seen.cleaned is None and time.monotonic() < deadline:
            self._receive(deadline - time.monotonic(), seen)
        return seen.cleaned is not None and bool(seen.cleaned.get("clean"))

    def _readable(self, timeout: float) -> bool:
        poller = select.poll()  # not select(): a descriptor may be numbered beyond 1023
        poller.register(self._channel, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))

    def _receive(self, timeout: float, seen: Seen) -> None:
        if not self._readable(timeout):
            return
        try:
            data = self._channel.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.reusable = False
            raise LauncherLost()
        try:
            frames = self._frames.feed(data)
        except ValueError as exc:
            self.reusable = False
            raise SandboxError(f"the container's launcher sent a broken frame: {exc}") from None
        for kind, payload in frames:
            if kind in seen.output:
                for kept in (seen.output[kind], seen.interleaved):
                    kept += payload
                    del kept[: max(0, len(kept) - MAX_OUTPUT)]
            elif kind == EXITED:
                seen.exited = json.loads(payload)
            elif kind == CLEAN:
                seen.cleaned = json.loads(payload)
            elif kind == READY:
                seen.ready = True

    def _send(self, data: bytes) -> None:
        try:
            self._channel.sendall(data)
        except OSError:
            self.reusable = False
            raise LauncherLost() from None

    def alive(self) -> bool:
        """Whether the launcher still takes orders: between runs it sends nothing, so a readable channel is closed.

        One unused for long is not trusted to stay: its launcher ends after a wait of its own.
        """
        return self.reusable and not self._readable(0) and time.monotonic() - self._last_used < self._idle_limit

    def close(self) -> None:
        self.reusable = False
        self._channel.close()
        if self._diag is not None:
            self._diag.close()
        self.make_socket.close()


def _connect(make_socket: SocketMaker) -> socket.socket:
    """The one connection to a new container's launcher, made before any program of the student runs there."""
    deadline = time.monotonic() + CONNECT_WAIT
    while True:
        sock = make_socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_WAIT)
        try:
            sock.connect(("127.0.0.1", CONTROL_PORT))
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"the container did not start its launcher within {CONNECT_WAIT:g} s (the engine is swamped)"
                ) from None
            time.sleep(CONNECT_RETRY)
            continue
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
