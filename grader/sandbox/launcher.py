"""The first process of a student's container: it starts the role's program on the grader's orders, one run at a time.

A client sends its first datagram the moment it starts, so the grader's scripted server
must already listen inside the client's network namespace, and that namespace exists only
once the container runs. So the container starts this launcher instead of the program.
It accepts one TCP connection on 127.0.0.1:CONTROL_PORT of its loopback, the grader's,
made before any student program runs there, and then closes its listener: nothing else
can ever give it orders. Each order starts the program once, with the typed input on a
pipe as stdin; its output and its exit come back over the same connection (see
`Frames`). One container serves every run of one role of one submission: a client's run,
or a server's restart after a crash, costs a process, not a container.

Nothing of a run is left for the next. Once the program ends (or the grader stops it),
every other process of the container is killed with kill(-1, SIGKILL): a process of the
student's user can neither survive it nor escape it by forking, since a fork racing a
fatal signal fails. The container's writable places (/tmp, /dev/shm, /dev/mqueue) are
emptied, and the run is reported clean only if nothing is left and the launcher's own
limits, priority and scheduling are as they were; the grader checks the container's
processes from outside too, and removes a container that is not clean instead of using
it again.

The launcher is the container's init (PID 1, no docker-init): the kernel delivers no
signal to a namespace's init from inside it unless it handles that signal, so the
student's programs, which run as the same user, cannot kill or stop it, and it reaps
the orphans they leave. It makes itself undumpable (PR_SET_DUMPABLE 0), which keeps them
from tracing it or reading its memory or descriptors. What they can still do to it
(lower its limits with prlimit, say) is seen after the run, and the container is retired.

Runs inside the container as `python3 -I -S -c <this file's text> WAIT`, as the student's
user: the standard library only, no import of the grader. With no connection within WAIT
seconds, no order within WAIT seconds of the last run, or the grader's connection
closed, it stops everything and exits (status 125), so a container a killed grader left ends.
"""

import base64
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time

CONTROL_PORT = 61000  # above Linux's ephemeral range (32768-60999): no client's own socket is on it
GONE = 125
NOT_FOUND = 127  # a shell's status for a command it cannot run
WRITABLE = ("/tmp", "/dev/shm", "/dev/mqueue")  # everything else of the container is read-only
KILL_WAIT = 5.0  # seconds for the processes of a run to be gone after SIGKILL
CHUNK = 65536
PR_SET_DUMPABLE = 4

# Frames, both ways: one byte of kind, four of length (big-endian), then the payload.
RUN = b"R"  # grader -> launcher: {"argv": [...], "stdin": base64}
STOP = b"K"  # grader -> launcher: stop the program now
STDOUT = b"O"  # launcher -> grader: bytes the program wrote
STDERR = b"E"
EXITED = b"X"  # launcher -> grader: {"status": int, "stopped": bool}, docker-init's status: 128+N for signal N
CLEAN = b"C"  # launcher -> grader: {"clean": bool, "left": str}, the last frame of a run
READY = b"Y"  # launcher -> grader, once: its listener is closed (until then it shows among the container's sockets)
HEADER = struct.Struct(">cI")
MAX_FRAME = 1 << 20


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class Frames:
    """Bytes in, whole frames out: `feed` what arrived, take the (kind, payload) pairs it completes."""

    def __init__(self):
        self._buffer = bytearray()
        self.early: list = []  # frames read with a run's order, that belong to the run

    def feed(self, data: bytes) -> list:
        self._buffer += data
        found = []
        start = 0
        while len(self._buffer) - start >= HEADER.size:
            kind, size = HEADER.unpack_from(self._buffer, start)
            if size > MAX_FRAME:
                raise ValueError(f"a frame of {size} bytes")
            if len(self._buffer) - start < HEADER.size + size:
                break
            found.append((kind, bytes(self._buffer[start + HEADER.size : start + HEADER.size + size])))
            start += HEADER.size + size
        del self._buffer[:start]  # once per call: many small frames cost no more than one big one
        return found


def exit_status(returncode: int) -> int:
    """docker-init's way: a program killed by signal N ends the container with 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list) -> int:
    if os.getuid() == 0 or os.getpid() != 1:
        # kill(-1) reaches every process of its user: only as a container's init is that just the container.
        sys.stderr.write("the launcher runs only as the first program of a student's container, never as root\n")
        return GONE
    wait = float(argv[1])
    # The namespace's init gets no signal from inside it that it does not handle: with
    # Python's SIGINT handler gone, no program of the student can stop it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Every child that ends (the program, or an orphan it left to init) wakes the run's loop.
    woken, wake = os.pipe()
    os.set_blocking(woken, False)
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    undumpable()
    limits = own_limits()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", CONTROL_PORT))
        listener.listen(1)
        listener.settimeout(wait)
        try:
            channel, _ = listener.accept()
        except OSError:
            return GONE
    channel.settimeout(None)
    try:
        channel.sendall(frame(READY))
    except OSError:
        return GONE
    frames = Frames()
    try:
        while True:
            order = next_order(channel, frames, wait)
            if order is None:
                return GONE
            run(channel, frames, order, woken)
            try:
                left = leftovers(limits)
            except Exception as exc:  # a tree too deep to remove, say: not clean, and the grader retires the container
                left = f"cleaning failed: {type(exc).__name__}"
            channel.sendall(frame(CLEAN, json.dumps({"clean": not left, "left": left}).encode()))
    except (OSError, ValueError):
        return GONE  # the grader is gone, or spoke nonsense: nothing more to do
    finally:
        kill_others({})


def undumpable() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def own_limits() -> tuple:
    """What a program of the same user can change in the launcher, and every later run would inherit."""
    names = sorted(name for name in dir(resource) if name.startswith("RLIMIT_"))
    return (
        tuple(resource.getrlimit(getattr(resource, name)) for name in names),
        os.getpriority(os.PRIO_PROCESS, 0),
        os.sched_getscheduler(0),
        sorted(os.sched_getaffinity(0)),
        io_priority(),
    )


IOPRIO_GET = {"x86_64": 252, "aarch64": 31}  # the syscall's number; Python has no call for it
IOPRIO_WHO_PROCESS = 1


def io_priority():
    """The launcher's I/O priority (a program may lower it to idle, say); None where it cannot be read."""
    number = IOPRIO_GET.get(os.uname().machine)
    if number is None:
        return None
    return ctypes.CDLL(None, use_errno=True).syscall(number, IOPRIO_WHO_PROCESS, 0)


def next_order(channel: socket.socket, frames: Frames, wait: float):
    """The next run's order; None once the grader has closed the connection or gone quiet for `wait` seconds."""
    while True:
        ready, _, _ = select.select([channel], [], [], wait)
        if not ready:
            return None
        data = channel.recv(CHUNK)
        if not data:
            return None
        found = frames.feed(data)
        for index, (kind, payload) in enumerate(found):
            if kind == RUN:
                # An order is never sent before the previous run's CLEAN; a STOP may follow it
                # in the same read, and is the run's to see.
                frames.early = found[index + 1 :]
                return json.loads(payload)


def run(channel: socket.socket, frames: Frames, order: dict, woken: int) -> None:
    argv = [str(part) for part in order["argv"]]
    typed = base64.b64decode(order["stdin"])
    stdin_read, stdin_write = os.pipe()
    os.write(stdin_write, typed)  # the grader sends less than a page, which a pipe always holds
    os.close(stdin_write)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    child = None
    try:
        # Only these three reach the program: every other descriptor of the launcher is close-on-exec.
        child = os.posix_spawnp(
            argv[0],
            argv,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT),  # as a shell would start it
            setsigmask=(),
        )
    except OSError as exc:
        channel.sendall(frame(STDERR, f"{argv[0]}: {exc.strerror}\n".encode()))
    finally:
        for fd in (stdin_read, out_write, err_write):
            os.close(fd)
    streams = {out_read: STDOUT, err_read: STDERR}
    ended: dict = {}  # pid -> wait status, of every process this launcher has reaped during the run
    stopped = False if child is None else follow(channel, frames, child, streams, ended, woken)
    if child is not None and not stopped:
        # Its exit is known the moment it is reaped: said at once, as a pidfd would show it,
        # before the cleaning that follows (its last output still comes after).
        report_exit(channel, exit_status(ended[child]), stopped)
    kill_others(ended)
    # Every writer is gone now: what is left in the pipes comes out, then their ends.
    deadline = time.monotonic() + KILL_WAIT
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(list(streams), [], [], max(0.0, deadline - time.monotonic()))
        for fd in ready:
            relay(channel, fd, streams)
    for fd in streams:
        os.close(fd)
    if child is None:
        report_exit(channel, NOT_FOUND, stopped)
    elif stopped:
        report_exit(channel, exit_status(ended[child]) if child in ended else None, stopped)


def report_exit(channel: socket.socket, status, stopped: bool) -> None:
    channel.sendall(frame(EXITED, json.dumps({"status": status, "stopped": stopped}).encode()))


def follow(channel: socket.socket, frames: Frames, child: int, streams: dict, ended: dict, woken: int) -> bool:
    """Relay the program's output until it ends; True when the grader stopped it.

    As the namespace's init, the launcher inherits every orphan of the program: each child
    that ends wakes it (SIGCHLD), and it reaps at once, as docker-init would, so zombies
    never fill the container's process limit.
    """
    early, frames.early = frames.early, []
    if any(kind == STOP for kind, _ in early):
        return True
    reap(ended)
    while child not in ended:
        ready, _, _ = select.select([channel, woken, *streams], [], [])
        for fd in ready:
            if fd in streams:
                relay(channel, fd, streams)
        if woken in ready:
            while True:
                try:
                    os.read(woken, CHUNK)
                except BlockingIOError:
                    break
        if channel in ready:
            data = channel.recv(CHUNK)
            if not data:
                raise OSError("the grader closed the connection")
            if any(kind == STOP for kind, _ in frames.feed(data)):
                return True
        reap(ended)
    return False


def relay(channel: socket.socket, fd: int, streams: dict) -> None:
    data = os.read(fd, CHUNK)
    if data:
        channel.sendall(frame(streams[fd], data))
    else:
        os.close(fd)
        del streams[fd]


def kill_others(ended: dict) -> bool:
    """Kill every process of the container but this one, reaping them into `ended`; True once none is left."""
    me = os.getpid()
    deadline = time.monotonic() + KILL_WAIT
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass  # nothing else to signal
        reap(ended)
        if not others(me):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def reap(ended: dict) -> None:
    """Collect every child that has ended (the program, and the orphans it left to init)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = os.waitstatus_to_exitcode(status)


def others(me: int) -> list:
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != me]


def leftovers(limits: tuple) -> str:
    """What a run left that the next one would see, in words; empty when nothing."""
    if not kill_others({}):
        return "processes that did not end"
    for folder in WRITABLE:
        if not empty(folder):
            return f"files in {folder} that could not be removed"
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                if len(table.read().splitlines()) > 1:
                    return f"System V {kind} objects"
        except OSError:
            pass
    if own_limits() != limits:
        return "the launcher's limits or priority changed"
    return ""


def empty(folder: str) -> bool:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, onerror=_writable_then_again)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
    try:
        return not os.listdir(folder)
    except OSError:
        return False


def _writable_then_again(function, path, _exc_info) -> None:
    """A folder its program made read-only is its own: make it writable, then try once more."""
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
    function(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
