"""Where student programs run: Docker containers (default) or local processes (no Docker).

A sandbox runs programs and nothing else: a server kept running, or a program run to its
end with its standard input, beside a network where the grader's own peer can serve it.
It knows no scenario; both kinds give the same small interface, so scenarios never know
which one runs.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Collection, Hashable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.model import ExitInfo, Program, ProgramRun, Role
from grader.sandbox.sockets import BoundSocket
from grader.sandbox.usage import Usage

Address = tuple[str, int]
SocketFactory = Callable[[int, int], socket.socket]
# How the peer of a program run looks while it has nothing scheduled (any value that
# changes when it acts again), None while it has: see grader.sandbox.blocked.
PeerQuiet = Callable[[], Hashable | None]


class SandboxError(Exception):
    """The sandbox itself cannot work (no Docker, no image); the message says how to fix it."""


@dataclass(frozen=True)
class PeerNetwork:
    """Where a program run by `run_program` finds the grader's peer (a scripted server, say).

    `make_socket` makes the peer's sockets inside the program's network, where they are
    reached as 127.0.0.1; None where the peer binds its own sockets on `host` (local runs).
    The host names given to `peer_network` resolve to 127.0.0.1 inside it where the sandbox
    can map names (Docker's hosts file); local runs cannot.
    """

    host: str
    make_socket: SocketFactory | None
    handle: object = None  # the sandbox's own handle of the network (the client's container); opaque elsewhere


class RunningServer(Protocol):
    def address(self, transport: str) -> Address:
        """Where the grader's sockets (from `make_socket`) reach the assignment port."""

    def make_socket(self, family: int, kind: int) -> socket.socket:
        """A new socket of the grader's, made where it can reach the program (its network namespace)."""

    def bound_sockets(self) -> list[BoundSocket] | None:
        """The program's bound server sockets, or None where they cannot be seen."""

    def exit_info(self) -> ExitInfo | None:
        """None while running."""

    def usage(self) -> Usage | None:
        """The program's CPU time so far and whether it is busy now; None where that cannot be seen."""

    def unread_bytes(self, peer_port: int) -> int | None:
        """Bytes that arrived on its TCP connection from our `peer_port` and that it has not read yet.

        None where that cannot be seen. It lets a sliced request wait until the program has
        read one slice before the next is sent, so slices stay slices on a busy machine.
        """

    def released(self, peer_port: int) -> bool:
        """Whether the program has let go of its end of our TCP connection from `peer_port`: no process holds it.

        Our side may then close with RST: nothing of the program can see it, and its side of
        the connection skips TIME_WAIT, which would keep a server without SO_REUSEADDR from
        binding its port again when restarted in the same network namespace.
        """

    def watch_blocked(self) -> Callable[[float], str | None] | None:
        """A fresh look-out for a wait in which the grader sends the program nothing; None where it cannot see.

        Asked with the time, it says how the program is blocked forever once that has held
        (grader.sandbox.blocked), None until then.
        """

    def output_tail(self, lines: int = 20) -> str: ...

    def stop(self) -> None: ...


class Sandbox(Protocol):
    name: str
    sandboxed: bool
    network: str  # what student programs can reach, in words for the report

    def start_server(self, submission_path: Path, program: Program, port: int) -> RunningServer: ...

    def peer_network(
        self, submission_path: Path, role: Role, names: Collection[str], lifetime: float
    ) -> AbstractContextManager[PeerNetwork]:
        """A network of its own for one run of a `role` program, gone when the `with` ends (or after `lifetime`)."""

    def run_program(
        self,
        submission_path: Path,
        program: Program,
        stdin: bytes,
        network: PeerNetwork,
        budget: float,
        peer_quiet: PeerQuiet | None = None,
    ) -> ProgramRun:
        """Run `program` in `network` with `stdin`; it is killed once it has had `budget` seconds of its own.

        With `peer_quiet`, a sandbox that can see the program is blocked forever while its
        peer is quiet (grader.sandbox.blocked) stops it then, and says so in `never_woke`.
        """

    def close(self) -> None: ...
