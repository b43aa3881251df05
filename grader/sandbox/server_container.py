"""A server's container: each start of the server (the first, and each after a crash) is a new process in it.

The server runs until it ends or the grader stops it; meanwhile a thread of the grader
reads what the launcher relays (its output, then its exit), so a server that prints on
every request never blocks on a full pipe. Its sockets are read from its network
namespace, its CPU time from its cgroup, less the launcher's and less what earlier runs
used. See grader.sandbox.launcher_container for how the container is driven and kept clean.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import psutil

from grader.model import ExitInfo
from grader.sandbox import Address, SandboxError
from grader.sandbox.blocked import BlockedWatch
from grader.sandbox.launcher import STOP, frame
from grader.sandbox.launcher_container import CLEAN_WAIT, KILLED, LauncherContainer, LauncherLost, Seen
from grader.sandbox.sockets import (
    HOST_ADDRESS,
    BoundSocket,
    read_namespace,
    read_released,
    read_tcp_local_ports,
    read_unread,
)
from grader.sandbox.usage import Usage, oom_kills

PROBE = 0.5  # seconds the output thread waits at a time; it also ends once the run is over
EPHEMERAL_PORTS = 32768  # Linux's first port for outgoing connections: below it, ports a server binds


class ServerContainer(LauncherContainer):
    """A server role's container; `serve` one run at a time, as often as it stays clean."""

    def serve(
        self, command: tuple[str, ...], port: int, uid: int, release: Callable[[ServerContainer], None]
    ) -> ServerRun:
        """Start `command`, its stdin at its end at once; `release` takes the container back once it is stopped."""
        return ServerRun(self, command, port, uid, release)

    def _cpu_outside_runs(self) -> float:
        """CPU time of the cgroup that is not the current run's: the launcher's, from /proc."""
        try:
            times = psutil.Process(self._launcher).cpu_times()
        except (psutil.Error, OSError):
            return 0.0
        return times.user + times.system


class ServerRun:
    """One run of a server in its container: what the engine sees as a running server."""

    def __init__(
        self,
        container: ServerContainer,
        command: tuple[str, ...],
        port: int,
        uid: int,
        release: Callable[[ServerContainer], None],
    ):
        self._container = container
        self._port = port
        self._uid = uid  # the student's: the launcher's control connection is its, but never listens
        self._release = release
        self._lost = False
        self._stopped = False
        self._exit: ExitInfo | None = None
        self._ooms = oom_kills(container._launcher)
        reading = None if container._usage is None else container._usage.read()
        self._cpu_before = 0.0 if reading is None else reading.cpu_seconds - container._cpu_outside_runs()
        self._seen: Seen = container._begin(command, b"")
        self._reader = threading.Thread(target=self._read, name="server-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Everything the launcher relays, until its report of the run's cleaning (or its end)."""
        try:
            while self._seen.cleaned is None:
                self._container._receive(PROBE, self._seen)
        except Exception:  # the launcher gone, a broken frame, the channel closed under us: the run is over
            self._lost = True

    def address(self, transport: str) -> Address:
        return (HOST_ADDRESS, self._port)

    def make_socket(self, family: int, kind: int) -> socket.socket:
        try:
            return self._container.make_socket(family, kind)
        except OSError as exc:
            raise SandboxError(f"cannot make a socket inside the server's container: {exc}") from None

    def bound_sockets(self) -> list[BoundSocket] | None:
        with self._container._diag_lock:
            try:
                return read_namespace(self._container._launcher, self._uid, self._container._diag)
            except OSError:
                self._drop_diag()
                return read_namespace(self._container._launcher, self._uid)

    def unread_bytes(self, peer_port: int) -> int | None:
        with self._container._diag_lock:
            try:
                return read_unread(self._container._launcher, self._port, peer_port, self._container._diag)
            except OSError:
                self._drop_diag()
                return read_unread(self._container._launcher, self._port, peer_port)

    def released(self, peer_port: int) -> bool:
        with self._container._diag_lock:
            try:
                return read_released(self._container._launcher, self._port, peer_port, self._container._diag)
            except OSError:
                self._drop_diag()
                return read_released(self._container._launcher, self._port, peer_port)

    def watch_blocked(self) -> Callable[[float], str | None]:
        # The grader's peer sends nothing while it waits: its picture is a constant. The bytes
        # in flight are read from /proc, not from the container's sock_diag socket, whose
        # failure the watch could not report (an answer cut short would leave it out of step).
        return BlockedWatch(self._container._launcher, self._container._pids, lambda: 0).forever

    def _drop_diag(self) -> None:
        """After any failure (an answer cut short would leave the next one out of step): /proc from now on."""
        if self._container._diag is not None:
            self._container._diag.close()
            self._container._diag = None

    def usage(self) -> Usage | None:
        reading = None if self._container._usage is None else self._container._usage.read()
        if reading is None:
            return None
        cpu = reading.cpu_seconds - self._container._cpu_outside_runs() - self._cpu_before
        return Usage(max(0.0, cpu), reading.busy, reading.waited_seconds)

    def exit_info(self) -> ExitInfo | None:
        """None while running; the launcher reports the exit as soon as it reaps the program."""
        if self._exit is None:
            ended = self._seen.exited
            if ended is None and self._lost:
                ended = {"status": KILLED}  # the namespace's init is gone, and every process with it
            if ended is not None:
                oom = self._ooms is not None and (oom_kills(self._container._launcher) or 0) > self._ooms
                self._exit = ExitInfo(ended.get("status"), oom)
        return self._exit

    def output_tail(self, lines: int = 20) -> str:
        text = bytes(self._seen.interleaved).decode("utf-8", "replace").rstrip("\n")
        return "\n".join(text.split("\n")[-lines:]) if text else ""

    def stop(self) -> None:
        """Stop the program, and hand the container back: clean, it serves the role's next start."""
        if self._stopped:
            return
        self._stopped = True
        if self._seen.exited is None and not self._lost:
            try:
                self._container._send(frame(STOP))
            except LauncherLost:
                self._lost = True
        self._reader.join(CLEAN_WAIT)
        clean = not self._lost and self._seen.cleaned is not None and bool(self._seen.cleaned.get("clean"))
        self._container._finish(clean and not self._reader.is_alive() and not self._port_still_held())
        self._release(self._container)

    def _port_still_held(self) -> bool:
        """Whether a TCP socket of the run outlived it on a port a server binds (its own side of a close: TIME_WAIT).

        A new container's ports are all free. A server without SO_REUSEADDR (the textbook's)
        could not bind its port again for a minute in this namespace, so the next start gets
        a new container instead.
        """
        with self._container._diag_lock:
            try:
                ports = read_tcp_local_ports(self._container._launcher, self._container._diag)
            except OSError:
                self._drop_diag()
                ports = read_tcp_local_ports(self._container._launcher)
        return ports is None or any(port == self._port or port < EPHEMERAL_PORTS for port in ports)
