"""Local processes on 127.0.0.1: for students without Docker. Not a sandbox, and it says so.

Where the grader runs as root (an autograder platform's container, `sudo make grade`),
student programs still cannot touch the grader: they run as an unprivileged user
(`nobody`, or the account a platform's set-up made for them, named by
`SOCKETLAB_STUDENT_USER`), in a copy of the submission they can read but not change, with
a home and a temporary folder of their own, none of the grader's environment, and
resource limits (memory, processes, file size, CPU time). When one stops, its whole
process group goes, and so does every process of that user it left behind (a daemon
that left its session): the grader is their subreaper, so none can slip away to init.
A grader run by anyone else runs them as that user, the only one it has, and the
warning says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from grader.model import ExitInfo, Program, ProgramRun, Role
from grader.sandbox import Address, PeerNetwork, PeerQuiet, SandboxError
from grader.sandbox.sockets import BoundSocket, read_released, read_unread
from grader.sandbox.usage import Usage, process_tree_usage
from grader.scratch import scratch_dir

STUDENT_USER = "nobody"
# The account a platform's set-up created for student programs alone (see grader/export).
STUDENT_USER_VARIABLE = "SOCKETLAB_STUDENT_USER"
NOBODY_ID = 65534  # the kernel's overflow ID, which is `nobody` where the account itself is missing
# While student programs run as another user of this machine, nothing the grader writes
# may be open to "others"; the group keeps its read access, for an instructor's team.
PRIVATE_UMASK = 0o027
STUDENT_ENV = ("PATH", "LANG")  # all a program may need of the grader's environment


@dataclass(frozen=True)
class StudentUser:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Limits:
    """The rlimits of every student program; a program that passes one gets a signal or an error, as in Docker."""

    memory: int = 1024 * 1024 * 1024  # address space: Python with a few threads uses a tenth of it
    processes: int = 64  # the Docker sandbox's pids limit; counted per user, so only with a user of their own
    file_size: int = 16 * 1024 * 1024
    cpu_seconds: int = 60  # CPU time, not wall time: a server that waits costs nothing
    open_files: int = 256

    def pairs(self, per_user: bool) -> list[tuple[str, int]]:
        pairs = [
            ("RLIMIT_AS", self.memory),
            ("RLIMIT_FSIZE", self.file_size),
            ("RLIMIT_CPU", self.cpu_seconds),
            ("RLIMIT_NOFILE", self.open_files),
            ("RLIMIT_CORE", 0),
        ]
        # RLIMIT_NPROC counts every process of the user: for the grader's own user it would count theirs too.
        return [*pairs, ("RLIMIT_NPROC", self.processes)] if per_user else pairs


LIMITS = Limits()

# Runs as the student user, before their program: sets the limits (lowering needs no privilege), then becomes it.
_LIMITER = (
    "import os, resource, sys\n"
    "args = sys.argv[1:]\n"
    "while args[0] != '--':\n"
    "    value = int(args[1])\n"
    "    resource.setrlimit(getattr(resource, args[0]), (value, value))\n"
    "    args = args[2:]\n"
    "os.execvp(args[1], args[1:])\n"
)


def limited(command: list[str], python: str, per_user: bool, limits: Limits = LIMITS) -> list[str]:
    """`command` started through a Python that first applies `limits` to itself (exec keeps them)."""
    settings = [str(part) for pair in limits.pairs(per_user) for part in pair]
    return [python, "-I", "-S", "-c", _LIMITER, *settings, "--", *command]


def student_user() -> StudentUser | None:
    """Whom student programs run as when the grader is root; None (the grader's own user) otherwise.

    The account named by SOCKETLAB_STUDENT_USER where a platform's set-up made one for
    student programs alone; else `nobody` rather than a number of our own: the account
    exists on the Debian and Ubuntu images the platforms use and by convention owns no
    file, whereas a fixed number (the Docker image's 10001) may be a real person's account
    on a shared machine.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    name = os.environ.get(STUDENT_USER_VARIABLE) or STUDENT_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if name != STUDENT_USER:
            raise SandboxError(
                f"{STUDENT_USER_VARIABLE}={name}: no such user on this machine; create it "
                f"(useradd --system {name}) or unset {STUDENT_USER_VARIABLE} to use nobody"
            ) from None
        return StudentUser(STUDENT_USER, NOBODY_ID, NOBODY_ID)
    if entry.pw_uid == 0:
        raise SandboxError(f"{STUDENT_USER_VARIABLE}={name} is root; name an unprivileged user")
    return StudentUser(name, entry.pw_uid, entry.pw_gid)  # nogroup on Debian for nobody


def _grader_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def sandbox_label(user: StudentUser | None) -> str:
    """The `sandbox` property of a local grading."""
    who = f"user {user.name}" if user else f"the grader's own user {_grader_user()}"
    return f"local (not sandboxed: ordinary processes on this machine, {who})"


def not_sandboxed_warning(user: StudentUser | None, ran: bool = True) -> str:
    """What a TA must know about a local grading, in words: where the programs ran and what they could do."""
    verb = "ran" if ran else "run"
    if user is None:
        who = f"as the user running the grader ({_grader_user()}), so they could read and change whatever that user can"
    else:
        who = (
            f"as the unprivileged user {user.name} (uid {user.uid}), so they could not change the "
            "submission, the grader or the reports, but could read whatever this machine lets every user read"
        )
    limited_what = "memory, processes, file size and CPU time" if user else "memory, file size and CPU time"
    return (
        f"Not sandboxed: student programs {verb} as ordinary processes on this machine, {who}; "
        f"their {limited_what} were limited, their network was not."
    )


def close_to_others() -> None:
    """From now on this process creates nothing that other users (the student user among them) may open."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def local_command(program: Program) -> list[str]:
    """Run `python3 ...` with this interpreter, so the venv's Python is the one graded."""
    command = list(program.command)
    if command and command[0] in ("python3", "python"):
        command[0] = sys.executable
    return command


def _student_env(home: Path, tmp: Path) -> dict[str, str]:
    kept = {name: os.environ[name] for name in STUDENT_ENV if name in os.environ}
    return {
        "PATH": os.defpath,
        **kept,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _as_user(user: StudentUser) -> dict:
    return {"user": user.uid, "group": user.gid, "extra_groups": []}  # none of root's groups either


@functools.cache
def python_for(user: StudentUser) -> str:
    """A Python that `user` can run: this one where it can reach it, else the first python3 that works for it.

    A virtualenv's interpreter often lives under a home the student user cannot enter
    (/root/.pyenv/...); the system's python3 then runs the programs.
    """
    path_dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    candidates = [
        sys.executable,
        os.path.realpath(sys.executable),
        "/usr/bin/python3",
        "/usr/local/bin/python3",
        *(os.path.join(folder, "python3") for folder in path_dirs if folder),
    ]
    for candidate in dict.fromkeys(candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", ""],
                cwd="/",
                env={"PATH": os.defpath},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                **_as_user(user),
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return candidate
    raise SandboxError(
        f"no Python that user {user.name} can run: {sys.executable} is in a folder it cannot enter "
        "and no python3 on PATH works for it. Fix: install python3 for everyone "
        "(apt-get install python3), or grade with --sandbox docker."
    )


def copy_for_student(source: Path, target: Path) -> None:
    """A copy of `source` that the student user can read and list but not change.

    The very files a Docker container sees (`submission_archive`): folders and regular
    files, no symlink followed or copied (one may point at any file of this machine, which
    root would read for the student), no FIFO or device, and modes set rather than kept
    (root reads a 0600 file that the student user could not, whatever the umask).
    """
    from grader.sandbox.docker import submission_archive  # one rule for what a program sees, in both modes

    archive = submission_archive(source)
    os.mkdir(target)
    os.chmod(target, 0o755)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def _kill_group(process: subprocess.Popen) -> None:
    """The whole session: a program may have started helpers of its own."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Linux: orphans among our descendants become our children instead of init's, so none escapes a kill."""
    if not sys.platform.startswith("linux"):
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _students_below(pid: int, user: StudentUser) -> list[psutil.Process]:
    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [p for p in below if _runs_as(p, user)]


def _runs_as(process: psutil.Process, user: StudentUser) -> bool:
    try:
        return user.uid in process.uids()
    except psutil.Error:
        return False


def kill_strays(user: StudentUser, also: Sequence[psutil.Process] = (), spare: frozenset[int] = frozenset()) -> None:
    """Kill `also` and every process of `user` that is our own child but not in `spare` (the programs we started
    and still run): an orphan we inherited. Reap them, for nobody else will."""
    strays = [p for p in psutil.Process().children() if _runs_as(p, user) and p.pid not in spare]
    for process in {p.pid: p for p in [*also, *strays]}.values():
        try:
            process.kill()
        except psutil.Error:
            pass
    for process in strays:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(process.pid, 0)


def _read_all(file) -> str:
    file.flush()
    file.seek(0)
    return file.read().decode("utf-8", "replace")


class LocalServer:
    def __init__(self, process: subprocess.Popen, output, port: int, on_stop: Callable[[], None]):
        self._process = process
        self._output = output
        self._port = port
        self._on_stop = on_stop
        self._stopped = False

    def address(self, transport: str) -> Address:
        return ("127.0.0.1", self._port)

    def make_socket(self, family: int, kind: int) -> socket.socket:
        return socket.socket(family, kind)  # the host's own namespace: the program's too

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
                if (transport == "tcp" and conn.status == psutil.CONN_LISTEN) or (
                    transport == "udp" and not conn.raddr
                ):
                    found.append(BoundSocket(transport, conn.laddr.ip, conn.laddr.port))
        return found

    def unread_bytes(self, peer_port: int) -> int | None:
        return read_unread(self._process.pid, self._port, peer_port)  # the host's namespace: ours too

    def watch_blocked(self) -> None:
        return None  # another process of the machine may send to it: never known to be blocked forever

    def released(self, peer_port: int) -> bool:
        return read_released(self._process.pid, self._port, peer_port)

    def exit_info(self) -> ExitInfo | None:
        code = self._process.poll()
        return None if code is None else ExitInfo(code)

    def usage(self) -> Usage | None:
        return process_tree_usage(self._process.pid)

    def output_tail(self, lines: int = 20) -> str:
        size = os.fstat(self._output.fileno()).st_size
        text = os.pread(self._output.fileno(), 16384, max(0, size - 16384)).decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Once; the sandbox may stop a server before the engine does (see LocalSandbox.peer_network)."""
        if self._stopped:
            return
        self._stopped = True
        self._on_stop()
        self._output.close()


class LocalSandbox:
    """Programs as subprocesses; as root, each as the student user in a scratch folder of its own (see the module)."""

    name = "local"
    sandboxed = False
    network = "the grading machine's own: student programs are not sandboxed"

    def __init__(self) -> None:
        self.user = student_user()
        if self.user is not None:
            become_subreaper()
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._copies: dict[Path, Path] = {}
        self._runs = itertools.count(1)
        self._running: set[int] = set()  # the programs started and not yet stopped
        self._servers: set[LocalServer] = set()

    def _stop(self, process: subprocess.Popen) -> None:
        """Its process group; as root, also every process of the student user that descends from it or fled it.

        Those that left its session became ours when their parent died (we are their
        subreaper); the other programs still running are spared, not their strays.
        """
        doomed = _students_below(process.pid, self.user) if self.user else []
        _kill_group(process)
        self._running.discard(process.pid)
        if self.user:
            kill_strays(self.user, doomed, frozenset(self._running))

    def start_server(self, submission_path: Path, program: Program, port: int) -> LocalServer:
        output = tempfile.TemporaryFile()
        try:
            process, folder = self._launch(
                submission_path,
                program,
                {"PYTHONDONTWRITEBYTECODE": "1"},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            output.close()
            raise

        def stopped() -> None:
            self._servers.discard(server)
            self._stop(process)
            self._discard(folder)

        server = LocalServer(process, output, port, stopped)
        self._servers.add(server)
        return server

    @contextlib.contextmanager
    def peer_network(
        self, submission_path: Path, role: Role, names: Collection[str], lifetime: float
    ) -> Iterator[PeerNetwork]:
        """The machine's own loopback, where the peer binds its sockets on 127.0.0.1.

        Host names cannot be mapped here (that needs a sandbox's hosts file). The servers this
        sandbox runs are stopped first: they hold the machine's ports, the peer's among them;
        the engine starts them again for their next check.
        """
        for server in list(self._servers):
            server.stop()
        yield PeerNetwork("127.0.0.1", None)

    def run_program(
        self,
        submission_path: Path,
        program: Program,
        stdin: bytes,
        network: PeerNetwork,
        budget: float,
        peer_quiet: PeerQuiet | None = None,
    ) -> ProgramRun:
        # `peer_quiet` is not used: a local program shares the machine's network, where any
        # process may still send to it, so it is never known to be blocked forever.
        folder = None
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as typed:
            typed.write(stdin)
            typed.seek(0)
            try:
                started = time.monotonic()
                process, folder = self._launch(submission_path, program, {}, stdin=typed, stdout=out, stderr=err)
                try:
                    exit_info: ExitInfo | None = ExitInfo(process.wait(timeout=budget))
                except subprocess.TimeoutExpired:
                    exit_info = None
                duration = time.monotonic() - started
                self._stop(process)
            finally:
                self._discard(folder)
            return ProgramRun(_read_all(out), _read_all(err), exit_info, duration, budget)

    def _launch(
        self, submission_path: Path, program: Program, env: dict[str, str], **streams
    ) -> tuple[subprocess.Popen, Path | None]:
        """The program in its own session; as root, as the student user: (process, its folder to remove after)."""
        if self.user is None:
            process = subprocess.Popen(
                limited(local_command(program), sys.executable, per_user=False),
                cwd=submission_path,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                **streams,
            )
            return process, None
        command = list(program.command)
        python = python_for(self.user)
        if command and command[0] in ("python3", "python"):
            command[0] = python
        copy = self._copy(submission_path)
        folder = self._run_folder()
        try:
            process = subprocess.Popen(
                limited(command, python, per_user=True),
                cwd=copy,
                start_new_session=True,
                env=_student_env(folder / "home", folder / "tmp"),
                **_as_user(self.user),
                **streams,
            )
        except BaseException:
            self._discard(folder)
            raise
        self._running.add(process.pid)
        return process, folder

    def _root(self) -> Path:
        """Root's own folder, which the student user may enter but not list or change.

        Named by scratch_dir, so a sweep removes it when this grader died; inside it, the
        copies of the submission and one folder per program run.
        """
        if self._scratch is None:
            self._scratch = scratch_dir("student")
            os.chmod(self._scratch.name, 0o711)
        return Path(self._scratch.name)

    def _copy(self, submission_path: Path) -> Path:
        assert self.user is not None  # only programs run as the student user get a copy
        source = submission_path.resolve()
        if source not in self._copies:
            target = self._root() / f"submission-{len(self._copies) + 1}"
            try:
                copy_for_student(source, target)
            except OSError as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise SandboxError(f"cannot copy the submission for user {self.user.name}: {exc}") from None
            self._copies[source] = target
        return self._copies[source]

    def _run_folder(self) -> Path:
        """A fresh HOME and TMPDIR, the student user's alone, so no run sees what an earlier one left."""
        assert self.user is not None  # only programs run as the student user get a folder
        folder = self._root() / f"run-{next(self._runs)}"
        for path in (folder, folder / "home", folder / "tmp"):
            os.mkdir(path)
            os.chmod(path, 0o700)
            os.chown(path, self.user.uid, self.user.gid)
        return folder

    @staticmethod
    def _discard(folder: Path | None) -> None:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        if self.user is not None:
            kill_strays(self.user, [p for p in psutil.Process().children(recursive=True) if _runs_as(p, self.user)])
        if self._scratch is not None:
            try:
                self._scratch.cleanup()
            except OSError:
                pass  # a program that outlived its run still writes there; the next run's sweep removes it
            self._scratch = None
            self._copies.clear()
