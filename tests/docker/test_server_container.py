"""One container serves every start of a server role: a restart is a new process, and nothing of the last is left.

Each program below is a server in the Docker sandbox, started as the grader starts servers
(`start_server`), and stopped or left to crash. What is judged is the server's life in its
container: its exit, its output, its CPU time, and what the next start finds.
"""

from __future__ import annotations

import socket
import textwrap
import time
from pathlib import Path

import pytest

from grader.model import Program, Role
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.server_container import ServerRun

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

WAIT = 10.0  # seconds any one thing below may take on a loaded machine

PROGRAMS = {
    "echo": """\
        import socket
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("", 12000))
        print("ready", flush=True)
        while True:
            data, peer = sock.recvfrom(2048)
            sock.sendto(data.upper(), peer)
        """,
    "crashes": """\
        import sys
        print("about to fail", flush=True)
        sys.stderr.write("Traceback: boom\\n")
        sys.exit(3)
        """,
    "daemon": """\
        import os, socket, time
        open("/tmp/left-behind", "w").write("x")
        if os.fork() == 0:
            os.setsid()
            time.sleep(600)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("", 12000))
        time.sleep(600)
        """,
    "inspect": """\
        import os, time
        me = os.getpid()
        others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me))
        print(f"others {others} files {sorted(os.listdir('/tmp'))}", flush=True)  # one write, even unbuffered
        time.sleep(600)
        """,
    "floods": """\
        import socket, sys
        for _ in range(4000):
            sys.stdout.write("x" * 1023 + "\\n")
        sys.stdout.flush()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("", 12000))
        print("bound after flooding", flush=True)
        sock.recvfrom(10)
        """,
    "burns": """\
        import time
        end = time.process_time() + 1.0
        while time.process_time() < end:
            pass
        raise SystemExit(1)
        """,
    "idle": "import time\ntime.sleep(600)\n",
    "textbook_tcp": """\
        from socket import *
        serverSocket = socket(AF_INET, SOCK_STREAM)
        serverSocket.bind(("", 12000))
        serverSocket.listen(1)
        while True:
            connectionSocket, addr = serverSocket.accept()
            connectionSocket.send(connectionSocket.recv(1024).upper())
            connectionSocket.close()
        """,
}


@pytest.fixture
def sandbox():
    sandbox = DockerSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Every program, written before the first start: the sandbox copies a submission once."""
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, code in PROGRAMS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
    return folder


def start(sandbox: DockerSandbox, folder: Path, name: str) -> ServerRun:
    server = sandbox.start_server(folder, Program(Role.UDP_SERVER, ("python3", f"{name}.py")), 12000)
    assert isinstance(server, ServerRun)
    return server


def until(condition, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while not (found := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_a_server_answers_the_graders_socket_and_is_running_until_stopped(sandbox, folder):
    server = start(sandbox, folder, "echo")
    assert until(lambda: "ready" in server.output_tail())
    with server.make_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(WAIT)
        sock.sendto(b"hello", server.address("udp"))
        assert sock.recvfrom(100)[0] == b"HELLO"
    assert server.exit_info() is None
    server.stop()


def test_the_launchers_listener_is_closed_before_the_server_starts_so_never_taken_for_the_servers(sandbox, folder):
    server = start(sandbox, folder, "idle")
    assert server.bound_sockets() == []
    server.stop()


def test_a_crash_reports_its_status_and_its_output(sandbox, folder):
    server = start(sandbox, folder, "crashes")
    assert until(server.exit_info)
    assert server.exit_info().code == 3 and not server.exit_info().oom_killed
    assert until(lambda: "Traceback: boom" in server.output_tail())
    assert server.output_tail(1) == "Traceback: boom" or server.output_tail(1) == "about to fail"
    server.stop()


def test_a_restart_after_a_crash_is_a_new_process_in_the_same_container(sandbox, folder):
    crashed = start(sandbox, folder, "crashes")
    assert until(crashed.exit_info)
    crashed.stop()
    restarted = start(sandbox, folder, "echo")
    assert until(lambda: "ready" in restarted.output_tail())
    assert restarted._container is crashed._container
    assert "about to fail" not in restarted.output_tail()
    restarted.stop()


def test_a_daemon_and_the_files_a_stopped_server_left_are_gone_before_its_restart(sandbox, folder):
    first = start(sandbox, folder, "daemon")
    assert until(lambda: any(s.port == 12000 for s in first.bound_sockets() or []))
    first.stop()
    second = start(sandbox, folder, "inspect")
    assert until(lambda: "files" in second.output_tail())
    assert second._container is first._container
    assert second.output_tail() == "others [] files []"
    second.stop()


def test_a_server_that_floods_its_output_never_blocks_and_its_tail_is_kept(sandbox, folder):
    server = start(sandbox, folder, "floods")
    assert until(lambda: any(s.port == 12000 for s in server.bound_sockets() or []))
    assert until(lambda: server.output_tail(1) == "bound after flooding")
    assert server.output_tail(2).split("\n")[0] == "x" * 1023
    server.stop()


def test_a_restarted_servers_cpu_time_is_its_own_not_its_containers(sandbox, folder):
    burner = start(sandbox, folder, "burns")
    assert until(burner.exit_info)
    burned = burner.usage()
    assert burned is not None and burned.cpu_seconds >= 1.0
    burner.stop()
    idle = start(sandbox, folder, "idle")
    time.sleep(0.3)
    fresh = idle.usage()
    assert fresh is not None and fresh.cpu_seconds < 0.5 and idle._container is burner._container
    idle.stop()


def test_a_server_stopped_while_running_ends_and_its_role_reuses_the_container(sandbox, folder):
    running = start(sandbox, folder, "idle")
    assert running.exit_info() is None
    running.stop()
    again = start(sandbox, folder, "idle")
    assert again._container is running._container
    again.stop()


def test_a_port_left_in_time_wait_gets_the_restarted_server_a_new_container(sandbox, folder):
    first = start(sandbox, folder, "textbook_tcp")
    assert until(lambda: any(s.port == 12000 for s in first.bound_sockets() or []))
    with first.make_socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(WAIT)
        sock.connect(first.address("tcp"))
        sock.sendall(b"hello")
        assert sock.recv(100) == b"HELLO"
        assert sock.recv(100) == b""  # the server closed first: its side of the connection waits in TIME_WAIT
    first.stop()
    second = start(sandbox, folder, "textbook_tcp")
    assert second._container is not first._container
    assert until(lambda: any(s.port == 12000 for s in second.bound_sockets() or []) or second.exit_info())
    assert second.exit_info() is None, second.output_tail()
    second.stop()
