"""Where student programs run: Docker containers (default) or local processes (no Docker).

Both give the engine the same small interface, so scenarios never know which one runs.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from grader.model import Program
from grader.sandbox.sockets import BoundSocket
from grader.sandbox.usage import Usage

if TYPE_CHECKING:
    from grader.scenarios.clients import ClientRun, ScriptedServerSpec

Address = tuple[str, int]


class SandboxError(Exception):
    """The sandbox itself cannot work (no Docker, no image); the message says how to fix it."""


@dataclass(frozen=True)
class ExitInfo:
    code: int | None
    oom_killed: bool = False

    @property
    def reason(self) -> str:
        if self.oom_killed:
            return "ran out of memory and was killed (the memory limit)"
        if self.code is None:
            return "still running"
        if self.code < 0 or self.code > 128:
            signal_no = -self.code if self.code < 0 else self.code - 128
            return f"was killed by signal {signal_no}"
        return f"exited with status {self.code}"


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

    def output_tail(self, lines: int = 20) -> str: ...

    def stop(self) -> None: ...


class Sandbox(Protocol):
    name: str
    sandboxed: bool

    def start_server(self, submission_path: Path, program: Program, port: int) -> RunningServer: ...

    def run_client(self, submission_path: Path, program: Program, stdin: bytes,
                   server: ScriptedServerSpec | None, budget: float) -> ClientRun:
        """Run a client against a scripted server (None: no server at all), killed after `budget`."""

    def close(self) -> None: ...


def open_sandbox(kind: str, **options) -> Sandbox:
    """`auto` is Docker when the engine answers, local processes otherwise."""
    if kind not in ("auto", "docker", "local"):
        raise SandboxError(f"unknown sandbox {kind!r}: use auto, docker or local")
    if kind in ("auto", "docker"):
        from grader.sandbox.docker import DockerSandbox, docker_problem

        problem = docker_problem(options.get("image"))
        if problem is None:
            return DockerSandbox(**options)
        if kind == "docker":
            raise SandboxError(problem)
    from grader.sandbox.local import LocalSandbox

    return LocalSandbox()
