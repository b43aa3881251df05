"""Local processes on 127.0.0.1: for students without Docker. Not a sandbox, and it says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from grader.model import Program
from grader.sandbox import Address, ExitInfo, SandboxError
from grader.sandbox.sockets import BoundSocket, read_unread
from grader.scenarios.clients import ClientRun, ScriptedServerSpec
from grader.scripted_server import parse_events


def local_command(program: Program) -> list[str]:
    """Run `python3 ...` with this interpreter, so the venv's Python is the one graded."""
    command = list(program.command)
    if command and command[0] in ("python3", "python"):
        command[0] = sys.executable
    return command


SCRIPTED_SERVER = Path(__file__).resolve().parents[1] / "scripted_server.py"


def _kill_group(process: subprocess.Popen) -> None:
    """The whole session: a program may have started helpers of its own."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def _read_all(file) -> str:
    file.flush()
    file.seek(0)
    return file.read().decode("utf-8", "replace")


def _peek(file) -> bytes:
    """Read a file a child process is still writing, without moving the offset it shares."""
    return os.pread(file.fileno(), os.fstat(file.fileno()).st_size, 0)


def _await_ready(process: subprocess.Popen, events_file, port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b'"event": "ready"' in _peek(events_file):
            return
        if process.poll() is not None:
            break
        time.sleep(0.02)
    raise SandboxError(f"the scripted server did not start on 127.0.0.1:{port}: is the port free?")


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

    def unread_bytes(self, peer_port: int) -> int | None:
        return read_unread(self._process.pid, self._port, peer_port)  # the host's namespace: ours too

    def exit_info(self) -> ExitInfo | None:
        code = self._process.poll()
        return None if code is None else ExitInfo(code)

    def output_tail(self, lines: int = 20) -> str:
        size = os.fstat(self._output.fileno()).st_size
        text = os.pread(self._output.fileno(), 16384, max(0, size - 16384)).decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        _kill_group(self._process)
        self._output.close()


class LocalSandbox:
    name = "local"
    sandboxed = False

    def start_server(self, submission_path: Path, program: Program, port: int) -> LocalServer:
        return LocalServer(submission_path, program, port)

    def run_client(self, submission_path: Path, program: Program, stdin: bytes,
                   server: ScriptedServerSpec | None, budget: float) -> ClientRun:
        """The scripted server on 127.0.0.1 and the client as a subprocess.

        Placeholder host names cannot be mapped here (that needs the sandbox's hosts file).
        """
        scripted = None
        with tempfile.TemporaryFile() as events_file, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as typed:
            try:
                if server is not None:
                    scripted = subprocess.Popen(
                        [sys.executable, "-u", str(SCRIPTED_SERVER), *server.arguments(budget + 10),
                         "--host", "127.0.0.1"], stdin=subprocess.DEVNULL, stdout=events_file,
                        stderr=subprocess.DEVNULL, start_new_session=True)
                    _await_ready(scripted, events_file, server.port)
                typed.write(stdin)
                typed.seek(0)
                started = time.monotonic()
                client = subprocess.Popen(local_command(program), cwd=submission_path, stdin=typed, stdout=out,
                                          stderr=err, start_new_session=True,
                                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
                try:
                    code = client.wait(timeout=budget)
                    exit_info: ExitInfo | None = ExitInfo(code)
                except subprocess.TimeoutExpired:
                    exit_info = None
                duration = time.monotonic() - started
                _kill_group(client)
            finally:
                if scripted is not None:
                    scripted.send_signal(signal.SIGTERM)  # it writes its `end` event
                    try:
                        scripted.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        _kill_group(scripted)
            events = parse_events(_read_all(events_file))
            return ClientRun(_read_all(out), _read_all(err), exit_info, duration, budget, events)

    def close(self) -> None:
        pass
