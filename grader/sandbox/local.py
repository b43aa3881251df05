"""Local processes on 127.0.0.1: for students without Docker. Not a sandbox, and it says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from grader.model import Program
from grader.sandbox import Address, ExitInfo
from grader.sandbox.sockets import BoundSocket



def local_command(program: Program) -> list[str]:
    """Run `python3 ...` with this interpreter, so the venv's Python is the one graded."""
    command = list(program.command)
    if command and command[0] in ("python3", "python"):
        command[0] = sys.executable
    return command


class LocalServer:
    def __init__(self, submission_path: Path, program: Program, port: int):
        self._port = port
        self._output = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            local_command(program), cwd=submission_path, stdin=subprocess.DEVNULL,
            stdout=self._output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})

    def address(self, transport: str) -> Address:
        return ("127.0.0.1", self._port)

    def bound_sockets(self) -> list[BoundSocket] | None:
        found = []
        try:
            procs = [psutil.Process(self._process.pid)]
            procs += procs[0].children(recursive=True)
        except psutil.Error:
            return []
        for proc in procs:
            try:
                connections = proc.net_connections(kind="inet")
            except psutil.Error:
                continue
            for conn in connections:
                transport = "tcp" if conn.type == 1 else "udp"
                if (transport == "tcp" and conn.status == psutil.CONN_LISTEN) or (transport == "udp" and not conn.raddr):
                    found.append(BoundSocket(transport, conn.laddr.ip, conn.laddr.port))
        return found

    def exit_info(self) -> ExitInfo | None:
        code = self._process.poll()
        return None if code is None else ExitInfo(code)

    def output_tail(self, lines: int = 20) -> str:
        self._output.flush()
        size = self._output.seek(0, os.SEEK_END)
        self._output.seek(max(0, size - 16384))
        text = self._output.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        # The whole session: a server may have started helpers of its own.
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait(timeout=5)
        self._output.close()


class LocalSandbox:
    name = "local"
    sandboxed = False

    def start_server(self, submission_path: Path, program: Program, port: int) -> LocalServer:
        return LocalServer(submission_path, program, port)

    def close(self) -> None:
        pass
