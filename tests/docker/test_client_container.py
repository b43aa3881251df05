"""One container serves every run of a client role, and no run sees anything of the one before.

Each program below is a client in the Docker sandbox, run as the grader runs clients
(`peer_network`, then `run_program`), with no scripted server: what is judged here is the
container's life between runs, not an exchange. Hostile runs come first and an honest
program after, which reports what it finds in the container.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.model import Program, ProgramRun, Role
from grader.sandbox import SandboxError
from grader.sandbox.client_container import ClientContainer
from grader.sandbox.docker import LAUNCHER, DockerSandbox
from grader.sandbox.launcher import GONE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

BUDGET = 8.0

# What the next run finds: every other process of the container, and the files in its writable places.
INSPECT = """\
import os
me, parent = os.getpid(), os.getppid()
others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, parent))
print("others", others)
print("files", sorted(os.listdir("/tmp")) + sorted(os.listdir("/dev/shm")))
"""

DAEMON = """\
import os, signal, time
open("/tmp/left-behind", "w").write("x")
open("/dev/shm/left-behind", "w").write("x")
os.makedirs("/tmp/locked/inner")
os.chmod("/tmp/locked", 0o500)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
    os._exit(0)
print("left a daemon")
"""

FORK_BOMB = """\
import os, time
for _ in range(200):
    try:
        os.fork()
    except OSError:
        break
time.sleep(30)
"""

TRACE_THE_LAUNCHER = """\
import ctypes, errno, os
launcher = os.getppid()
for what in ("mem", "environ", "fd/0"):
    try:
        open(f"/proc/{launcher}/{what}", "rb").read(1)
        print(what, "read")
    except OSError as exc:
        print(what, type(exc).__name__)
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE = 0x4206
print("ptrace", libc.ptrace(PTRACE_SEIZE, launcher, 0, 0), errno.errorcode[ctypes.get_errno()])
"""

SECOND_CONNECTION = """\
import socket
try:
    socket.create_connection(("127.0.0.1", 61000), timeout=2)
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


ORPHANS = """\
import os
failed = 0
for _ in range(300):
    try:
        middle = os.fork()
    except OSError:
        failed += 1
        continue
    if middle == 0:
        try:
            if os.fork() == 0:
                os._exit(0)
        except OSError:
            os._exit(1)
        os._exit(0)
    failed += os.waitpid(middle, 0)[1] != 0
print("failed forks", failed)
"""

PROGRAMS = {
    "orphans": ORPHANS,
    "inspect": INSPECT,
    "daemon": DAEMON,
    "fork_bomb": FORK_BOMB,
    "trace_the_launcher": TRACE_THE_LAUNCHER,
    "second_connection": SECOND_CONNECTION,
    "upper": "import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read().upper())\n"
    "sys.stderr.write('oops')\nsys.exit(3)",
    "one": "print('one')",
    "two": "print('two')",
    "killed": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "sleeps": "import time\nprint('waiting')\ntime.sleep(60)",
    "signals_the_launcher": "import os, signal\nfor sig in (signal.SIGINT, signal.SIGTERM, signal.SIGSTOP, "
    "signal.SIGKILL):\n    os.kill(os.getppid(), sig)\nprint('signalled', os.getppid())",
    "lowers_limits": "import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (16, 16))",
    "limits": "import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE))",
    # I/O class idle (3 << 13) for the launcher, through ioprio_set (251 on x86_64, 30 on aarch64).
    "idles_the_launcher": "import ctypes, os\nnumber = {'x86_64': 251, 'aarch64': 30}[os.uname().machine]\n"
    "print(ctypes.CDLL(None).syscall(number, 1, os.getppid(), 3 << 13))",
}


@pytest.fixture
def sandbox():
    sandbox = DockerSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Every program, written before the first run: the sandbox copies a submission once."""
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, code in PROGRAMS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
    return folder


def run(sandbox: DockerSandbox, folder: Path, name: str, stdin: bytes = b"", budget: float = BUDGET):
    """One run of program `name` as the udp_client; the run and the container it ran in."""
    program = Program(Role.UDP_CLIENT, ("python3", "-u", f"{name}.py"))
    with sandbox.peer_network(folder, Role.UDP_CLIENT, ("hostname",), 30.0) as network:
        ran: ProgramRun = sandbox.run_program(folder, program, stdin, network, budget)
        assert isinstance(network.handle, ClientContainer)
        return ran, network.handle


def test_a_run_gets_its_typed_bytes_on_stdin_and_reports_its_output_and_status(sandbox, folder):
    ran, _ = run(sandbox, folder, "upper", b"hello \xff\n")
    assert ran.stdout == "HELLO \ufffd\n" and ran.stderr == "oops"
    assert ran.exit is not None and ran.exit.code == 3


def test_successive_runs_of_a_role_share_one_container(sandbox, folder):
    _, first = run(sandbox, folder, "one")
    ran, second = run(sandbox, folder, "two")
    assert ran.stdout == "two\n"
    assert second is first


def test_a_daemon_and_the_files_one_run_left_are_gone_before_the_next_run(sandbox, folder):
    left, first = run(sandbox, folder, "daemon")
    assert left.stdout == "left a daemon\n"
    seen, second = run(sandbox, folder, "inspect")
    assert second is first
    assert seen.stdout == "others []\nfiles []\n"


def test_a_fork_bomb_is_gone_before_the_next_run(sandbox, folder):
    bomb, _ = run(sandbox, folder, "fork_bomb", budget=1.0)
    assert bomb.hung
    seen, _ = run(sandbox, folder, "inspect")
    assert seen.stdout == "others []\nfiles []\n"


def test_a_program_killed_by_a_signal_ends_with_128_plus_its_number(sandbox, folder):
    ran, _ = run(sandbox, folder, "killed")
    assert ran.exit is not None and ran.exit.code == 137


def test_a_command_that_cannot_run_ends_with_127_and_says_why(sandbox, folder):
    program = Program(Role.UDP_CLIENT, ("no-such-program",))
    with sandbox.peer_network(folder, Role.UDP_CLIENT, (), 30.0) as network:
        ran = sandbox.run_program(folder, program, b"", network, BUDGET)
    assert ran.exit is not None and ran.exit.code == 127
    assert "no-such-program" in ran.stderr


def test_a_run_over_its_budget_is_stopped_and_the_container_serves_the_next(sandbox, folder):
    hung, first = run(sandbox, folder, "sleeps", budget=0.5)
    assert hung.hung and hung.stdout == "waiting\n"
    ran, second = run(sandbox, folder, "one")
    assert ran.stdout == "one\n" and second is first


def test_a_program_can_neither_trace_nor_read_the_launcher(sandbox, folder):
    ran, _ = run(sandbox, folder, "trace_the_launcher")
    assert ran.stdout == "mem PermissionError\nenviron PermissionError\nfd/0 PermissionError\nptrace -1 EPERM\n"


def test_a_program_cannot_open_a_second_connection_to_the_launcher(sandbox, folder):
    ran, _ = run(sandbox, folder, "second_connection")
    assert ran.stdout == "ConnectionRefusedError\n"


def test_a_program_can_neither_kill_nor_stop_the_launcher_its_containers_init(sandbox, folder):
    signalled, first = run(sandbox, folder, "signals_the_launcher")
    assert signalled.stdout == "signalled 1\n"
    ran, second = run(sandbox, folder, "one")
    assert ran.stdout == "one\n" and second is first


def test_a_program_that_lowers_the_launchers_limits_gets_its_role_a_new_container(sandbox, folder):
    lowered, first = run(sandbox, folder, "lowers_limits")
    assert lowered.exit is not None and lowered.exit.code == 0
    assert not first.reusable
    ran, second = run(sandbox, folder, "limits")
    assert second is not first
    assert ran.stdout == "(256, 256)\n"


def test_a_program_that_lowers_the_launchers_io_priority_gets_its_role_a_new_container(sandbox, folder):
    idled, first = run(sandbox, folder, "idles_the_launcher")
    assert idled.stdout == "0\n"  # the call worked
    assert not first.reusable
    _, second = run(sandbox, folder, "one")
    assert second is not first


def test_input_over_a_page_is_refused_before_anything_is_sent(sandbox, folder):
    program = Program(Role.UDP_CLIENT, ("python3", "-u", "one.py"))
    with sandbox.peer_network(folder, Role.UDP_CLIENT, (), 30.0) as network:
        with pytest.raises(SandboxError, match="over 4 KiB"):
            sandbox.run_program(folder, program, b"x" * (5 << 10), network, BUDGET)
        ran = sandbox.run_program(folder, program, b"", network, BUDGET)
    assert ran.stdout == "one\n"


def test_a_launcher_nobody_connects_to_ends_by_itself_after_its_wait(sandbox):
    container = sandbox.client.containers.run(
        sandbox.image,
        ["python3", "-I", "-S", "-c", LAUNCHER, "0.5"],
        detach=True,
        user="10001:10001",
        network_mode="none",
        labels=sandbox.labels,
    )
    try:
        assert container.wait(timeout=30)["StatusCode"] == GONE
    finally:
        container.remove(force=True)


def test_the_orphans_a_program_leaves_are_reaped_as_they_end_and_never_fill_the_process_limit(sandbox, folder):
    ran, _ = run(sandbox, folder, "orphans")
    assert ran.stdout == "failed forks 0\n"
