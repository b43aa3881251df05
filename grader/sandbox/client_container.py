"""The grader's side of a client's container: one connection to its launcher, one order per run.

The container starts grader.sandbox.launcher, and the grader connects to it once, from
inside the container's network namespace, before any student program runs there. Each
run of the client is then an order on that connection: a new process in the same
container, not a new container. The launcher relays the program's output and its exit,
and after each run it kills whatever the run left and empties /tmp, /dev/shm and
/dev/mqueue; the grader checks from outside that only the launcher is left before it lends the
container to the next run of the same client role of the same submission, and removes it
otherwise. Nothing here talks to Docker: grader.sandbox.docker makes and removes the
container.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.model import ExitInfo, ProgramRun
from grader.sandbox import PeerQuiet, SandboxError
from grader.sandbox.blocked import BlockedWatch
from grader.sandbox.launcher import CLEAN, CONTROL_PORT, EXITED, KILL_WAIT, RUN, STDERR, STDOUT, STOP, Frames, frame
from grader.sandbox.netns import SocketMaker
from grader.sandbox.sock_diag import open_in as open_diag
from grader.sandbox.usage import CgroupUsage, await_within_budget, oom_kills

CONNECT_WAIT = 10.0  # seconds for a new container's launcher to listen; it starts in well under one
CONNECT_RETRY = 0.01
PROBE = 0.1  # seconds between looks at whether a client is blocked forever
CLEAN_WAIT = 2 * KILL_WAIT + 5.0  # seconds for the launcher to report a run's end and its cleaning
MAX_STDIN = 4 << 10  # bytes typed to a client: a page, which a pipe holds even when its user's pipes are shrunk
MAX_OUTPUT = 1 << 20  # bytes kept of each stream, the last ones: what Docker's log cap kept before


KILLED = 128 + 9  # the status of a program whose namespace lost its init: SIGKILL, from the kernel


class _LauncherLost(Exception):
    """The launcher's connection closed during a run."""


@dataclass
class _Seen:
    """What the launcher has reported of the current run so far."""

    output: dict[bytes, bytearray] = field(default_factory=lambda: {STDOUT: bytearray(), STDERR: bytearray()})
    exited: dict | None = None
    cleaned: dict | None = None


class ClientContainer:
    """A running client container whose launcher the grader is connected to; `run` as often as it stays clean."""

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
        found = pids()
        # Before any program runs, the container holds the launcher and nothing else. Where its
        # processes cannot be seen, nothing a run leaves can be checked: it serves one run only.
        self._checked = found is not None
        if found is not None and found != [launcher_pid]:
            self.close()
            raise SandboxError(f"the client's container holds {len(found)} processes before any run, not 1")
        usage = CgroupUsage.of(launcher_pid)
        self._usage = None if usage is None else usage.excluding(frozenset({launcher_pid}))
        self._last_used = time.monotonic()
        self.reusable = True  # False once a run left something behind, or the launcher is gone

    def run(self, command: tuple[str, ...], stdin: bytes, budget: float, peer_quiet: PeerQuiet | None) -> ProgramRun:
        """Run `command` once with `stdin`; stop it after `budget` seconds of its own, or once blocked forever."""
        if len(stdin) > MAX_STDIN:
            raise SandboxError(f"the input typed to the client is over {MAX_STDIN >> 10} KiB")
        if not self.reusable:
            raise SandboxError("the client's container was not clean after its last run")
        ooms = oom_kills(self._launcher)
        seen = _Seen()
        self.reusable = False  # until the launcher and the host both find the run cleaned up
        order = {"argv": list(command), "stdin": base64.b64encode(stdin).decode()}
        try:
            self._send(frame(RUN, json.dumps(order).encode()))
        except _LauncherLost:
            raise SandboxError("the client's container no longer takes orders") from None
        started = time.monotonic()  # the budget is the program's: the container was ready before it
        watch = None if peer_quiet is None else BlockedWatch(self._launcher, self._pids, peer_quiet, diag=self._diag)

        looked = [0.0]  # when /proc was last read: output arriving in a flood must not make it constant

        def wait_or_blocked(timeout: float) -> dict | str | None:
            end = time.monotonic() + timeout
            while seen.exited is None:
                self._receive(max(0.0, min(PROBE, end - time.monotonic())), seen)
                if seen.exited is not None:
                    break
                now = time.monotonic()
                if watch is not None and now - looked[0] >= PROBE:
                    looked[0] = now
                    if (blocked := watch.forever(now)) is not None:
                        return blocked
                if now >= end:
                    return None
            return seen.exited

        ended: dict | str | None = None
        waited, duration, decided = 0.0, 0.0, False
        try:
            ended, waited = await_within_budget(budget, wait_or_blocked, self._waited)
            duration, decided = time.monotonic() - started, True
            if not isinstance(ended, dict):
                self._send(frame(STOP))
            clean = self._await_clean(seen)
        except _LauncherLost:
            # Only the program could do that (its memory, or limits it set on the launcher); and
            # with the namespace's init gone, the kernel killed every process of the program.
            clean = False
            if not decided:
                ended, duration = seen.exited or {"status": KILLED}, time.monotonic() - started
        self.reusable = clean and self._checked and self._pids() == [self._launcher]
        self._last_used = time.monotonic()
        exit_info = None
        if isinstance(ended, dict):
            oom = ooms is not None and (oom_kills(self._launcher) or 0) > ooms
            exit_info = ExitInfo(ended.get("status"), oom)
        return ProgramRun(
            seen.output[STDOUT].decode("utf-8", "replace"),
            seen.output[STDERR].decode("utf-8", "replace"),
            exit_info,
            duration,
            budget,
            waited,
            ended if isinstance(ended, str) else "",
        )

    def _waited(self) -> float:
        reading = None if self._usage is None else self._usage.read()
        return reading.waited_seconds if reading is not None else 0.0

    def _await_clean(self, seen: _Seen) -> bool:
        """Read the rest of the run (its last output, its exit) up to the launcher's report on what it left."""
        deadline = time.monotonic() + CLEAN_WAIT
        while seen.cleaned is None and time.monotonic() < deadline:
            self._receive(deadline - time.monotonic(), seen)
        return seen.cleaned is not None and bool(seen.cleaned.get("clean"))

    def _readable(self, timeout: float) -> bool:
        poller = select.poll()  # not select(): a descriptor may be numbered beyond 1023
        poller.register(self._channel, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))

    def _receive(self, timeout: float, seen: _Seen) -> None:
        if not self._readable(timeout):
            return
        try:
            data = self._channel.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.reusable = False
            raise _LauncherLost()
        try:
            frames = self._frames.feed(data)
        except ValueError as exc:
            self.reusable = False
            raise SandboxError(f"the client's launcher sent a broken frame: {exc}") from None
        for kind, payload in frames:
            if kind in seen.output:
                kept = seen.output[kind]
                kept += payload
                del kept[: max(0, len(kept) - MAX_OUTPUT)]
            elif kind == EXITED:
                seen.exited = json.loads(payload)
            elif kind == CLEAN:
                seen.cleaned = json.loads(payload)

    def _send(self, data: bytes) -> None:
        try:
            self._channel.sendall(data)
        except OSError:
            self.reusable = False
            raise _LauncherLost() from None

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
                    f"the client's container did not start its launcher within {CONNECT_WAIT:g} s "
                    "(the engine is swamped)"
                ) from None
            time.sleep(CONNECT_RETRY)
            continue
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
