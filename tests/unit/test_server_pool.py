"""A server that ended between two checks is stopped before its restart: its sandbox may reuse what it held."""

from __future__ import annotations

import threading
from pathlib import Path

from grader.model import Deadline, ExitInfo, Program, Role, Submission
from grader.sandbox.sockets import BoundSocket
from grader.sandbox.usage import Usage
from grader.server_pool import ServerPool


class Server:
    def __init__(self, events: list[str], number: int):
        self.events, self.number = events, number
        self.ended = False

    def exit_info(self) -> ExitInfo | None:
        return ExitInfo(0) if self.ended else None

    def bound_sockets(self) -> list[BoundSocket]:
        return [BoundSocket("udp", "0.0.0.0", 12000)]

    def usage(self) -> Usage:
        return Usage(0.0, False)

    def output_tail(self, lines: int = 20) -> str:
        return ""

    def stop(self) -> None:
        self.events.append(f"stop {self.number}")


class Sandbox:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.started: list[Server] = []

    def start_server(self, path: Path, program: Program, port: int) -> Server:
        server = Server(self.events, len(self.started) + 1)
        self.events.append(f"start {server.number}")
        self.started.append(server)
        return server


def test_a_server_that_ended_between_checks_is_stopped_before_the_next_one_starts(tmp_path):
    sandbox = Sandbox()
    program = Program(Role.UDP_SERVER, ("python3", "server.py"))
    submission = Submission("student", tmp_path, {Role.UDP_SERVER: program})
    pool = ServerPool(sandbox, submission, 12000, 5.0, threading.Event())  # type: ignore[arg-type]
    first = pool.server(Role.UDP_SERVER, Deadline.after("check", 30))
    assert first is sandbox.started[0]
    sandbox.started[0].ended = True  # it served one client and exited
    second = pool.server(Role.UDP_SERVER, Deadline.after("check", 30))
    assert second is sandbox.started[1]
    assert sandbox.events[:3] == ["start 1", "stop 1", "start 2"]
