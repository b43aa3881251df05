"""Whether a client waits for something that can never come, told from outside its container.

A textbook client with no timeout that calls recvfrom() for a reply the scripted server
will never send sleeps until it is killed: waiting out its whole budget adds seconds and
proves nothing more. The kernel shows from the host what each process waits in
(/proc/<pid>/syscall), and `never_wakes` decides from that, a pure rule that says no
whenever anything could still wake the program:

- a process that is not asleep in a receive on a blocking socket, or in a wait for its
  children (a shell waiting for the program it started);
- a second thread, which could send, close or signal;
- a receive timeout on the socket (SO_RCVTIMEO), or a POSIX timer of the process;
- an alarm (ITIMER_REAL) anywhere on the machine: /proc/timer_list does not say whose, so
  any one stops the decision (CPU-time timers cannot fire: a sleeping process uses none);
- bytes still in flight in its network namespace (a socket's send queue not empty);
- anything the grader cannot read (no root, another kernel): unknown is never "forever".

The peer's part (the scripted server has nothing scheduled) and "nothing changed for a
while" are the caller's: see `Settling`.
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
import struct
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from grader.sandbox.sock_diag import ALL_STATES, TCP_LISTEN, dump

# Only the calls a blocked receive or a waiting parent sleeps in; anything else (poll,
# select, epoll, sleeps, futexes: each may have a timeout) is never "forever".
_SYSCALLS = {
    "x86_64": {0: "read", 19: "readv", 45: "recvfrom", 47: "recvmsg", 61: "wait4", 247: "waitid"},
    "aarch64": {63: "read", 65: "readv", 207: "recvfrom", 212: "recvmsg", 260: "wait4", 95: "waitid"},
}
RECEIVES = frozenset({"read", "readv", "recvfrom", "recvmsg"})
WAITS = frozenset({"wait4", "waitid"})
O_NONBLOCK = 0o4000
PIDFD_GETFD = 438  # the same number on every architecture
SETTLE = 0.3  # seconds the same forever-blocked picture must hold before it is believed


@dataclass(frozen=True)
class ProcessState:
    """What /proc shows of one process of the program; None where it could not be read."""

    pid: int
    threads: int | None
    call: str | None  # the syscall it sleeps in, when it is one of _SYSCALLS; None otherwise (or running)
    socket: bool  # the call's file descriptor is a socket
    nonblocking: bool
    receive_timeout: float | None  # SO_RCVTIMEO of that socket, seconds; 0: none
    posix_timers: int | None
    fd: int | None = None  # the call's file descriptor


@dataclass(frozen=True)
class Machine:
    alarms: int | None  # ITIMER_REAL timers pending on the whole machine
    in_flight: int | None  # bytes queued to send on the sockets of the program's network namespace


def never_wakes(processes: Sequence[ProcessState], machine: Machine) -> str | None:
    """How the program is blocked forever, in words; None when anything could still wake it."""
    if machine.alarms != 0 or machine.in_flight != 0 or not processes:
        return None
    receiving = []
    for process in processes:
        if process.threads != 1 or process.posix_timers != 0:
            return None
        if process.call in WAITS:
            continue
        if process.call not in RECEIVES or not process.socket or process.nonblocking or process.receive_timeout != 0:
            return None
        receiving.append(process.call)
    if not receiving:
        return None  # only waiting parents: their children are gone, so one will wake
    return f"blocked in {receiving[0]}() on a socket with no timeout"


class Settling:
    """Believes a forever-blocked picture once it has held, unchanged, for `settle` seconds.

    A picture is whatever the caller saw: the program's states and the peer's (its log
    length, say). A datagram the peer sent a moment ago may still be on its way through
    the kernel; one picture seen twice, `settle` apart, leaves no such moment.
    """

    def __init__(self, settle: float = SETTLE):
        self._settle = settle
        self._first: tuple[float, object] | None = None

    def settled(self, now: float, picture: object | None) -> bool:
        """`picture` None: nothing forever-blocked was seen now."""
        if picture is None or self._first is None or self._first[1] != picture:
            self._first = None if picture is None else (now, picture)
            return False
        return now - self._first[0] >= self._settle


# --- reading /proc: thin, and every failure is "unknown" -------------------------------------


def read_process(pid: int, proc: Path = Path("/proc"), timeouts: bool = True) -> ProcessState:
    """What /proc shows of `pid`; without `timeouts`, its socket's SO_RCVTIMEO is left unread (None)."""
    base = proc / str(pid)
    threads = _threads(base)
    posix_timers = _posix_timers(base)
    call, fd = _syscall(base)
    is_socket = nonblocking = False
    timeout: float | None = None
    if call in RECEIVES and fd is not None:
        is_socket = _is_socket(base, fd)
        nonblocking = _nonblocking(base, fd)
        timeout = receive_timeout(pid, fd) if is_socket and timeouts else None
    return ProcessState(pid, threads, call, is_socket, nonblocking, timeout, posix_timers, fd)


def _threads(base: Path) -> int | None:
    try:
        for line in (base / "status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _posix_timers(base: Path) -> int | None:
    try:
        return sum(line.startswith("ID:") for line in (base / "timers").read_text().splitlines())
    except OSError:
        return None


def _syscall(base: Path) -> tuple[str | None, int | None]:
    """The call a sleeping process is in ("running" or an unknown number: None), and its first argument."""
    try:
        fields = (base / "syscall").read_text().split()
        number, first = int(fields[0]), int(fields[1], 16)
    except (OSError, ValueError, IndexError):
        return None, None
    return _SYSCALLS.get(platform.machine(), {}).get(number), first


def _is_socket(base: Path, fd: int) -> bool:
    try:
        return os.readlink(base / "fd" / str(fd)).startswith("socket:")
    except OSError:
        return False


def _nonblocking(base: Path, fd: int) -> bool:
    try:
        for line in (base / "fdinfo" / str(fd)).read_text().splitlines():
            if line.startswith("flags:"):
                return bool(int(line.split()[1], 8) & O_NONBLOCK)
    except (OSError, ValueError, IndexError):
        pass
    return True  # unknown: as if it could return at any moment


def receive_timeout(pid: int, fd: int) -> float | None:
    """SO_RCVTIMEO of another process's socket, through a copy of its descriptor (pidfd_getfd: root)."""
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        copy = libc.syscall(ctypes.c_long(PIDFD_GETFD), ctypes.c_long(pidfd), ctypes.c_long(fd), ctypes.c_long(0))
        if copy < 0:
            return None
        try:
            sock = socket.socket(fileno=copy)  # closing the copy leaves the program's socket open
        except OSError:
            os.close(copy)  # no longer a socket: the program swapped the descriptor meanwhile
            raise
        with sock:
            seconds, micros = struct.unpack("qq", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
        return seconds + micros / 1e6
    except OSError:
        return None
    finally:
        os.close(pidfd)


def pending_alarms(timer_list: Path = Path("/proc/timer_list")) -> int | None:
    """ITIMER_REAL timers (alarm(), setitimer) pending on the machine; None where the list is unreadable (not root)."""
    try:
        return timer_list.read_text().count("it_real_fn")
    except OSError:
        return None


def bytes_in_flight(pid: int, proc: Path = Path("/proc"), diag: socket.socket | None = None) -> int | None:
    """Bytes waiting in the send queues of the sockets of `pid`'s network namespace (tx_queue of /proc/net/*).

    With `diag`, a sock_diag socket of that namespace, TCP's come from it (grader.sandbox.sock_diag).
    """
    total = 0
    if diag is not None:
        try:
            # A listening socket's "send queue" in sock_diag is its backlog, not bytes (/proc shows 0).
            total = sum(s.send_queue for s in dump(diag, ALL_STATES) if s.state != TCP_LISTEN)
        except OSError:
            return None
    for table in ("udp", "udp6") if diag is not None else ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = (proc / str(pid) / "net" / table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            try:
                total += int(fields[4].split(":")[0], 16)
            except (ValueError, IndexError):
                return None
    return total


class BlockedWatch:
    """Looks, each time it is asked, whether a container's program is blocked forever while its peer is quiet."""

    def __init__(
        self,
        init_pid: int,
        pids: Callable[[], list[int] | None],
        peer_quiet: Callable[[], Hashable | None],
        settle: float = SETTLE,
        diag: socket.socket | None = None,
    ):
        self._init = init_pid  # the container's init (a client's launcher): the grader's, never the student's
        self._diag = diag  # a sock_diag socket of its namespace, where the grader could make one
        self._pids = pids
        self._peer_quiet = peer_quiet
        self._settling = Settling(settle)

    def forever(self, now: float) -> str | None:
        """How the program is blocked, once that has held for the settling time; None until then."""
        picture, how = self._picture()
        return how if self._settling.settled(now, picture) else None

    def _picture(self) -> tuple[Hashable | None, str | None]:
        before = self._peer_quiet()
        if before is None:
            return None, None
        # SO_RCVTIMEO comes last: reading it copies the program's socket (pidfd_getfd), and the
        # copy's close could be the socket's last one, which lingers while bytes are unsent.
        # Asleep in receives with nothing in flight, the program has none to send.
        seen = tuple(read_process(pid, timeouts=False) for pid in self._pids() or [] if pid != self._init)
        untimed = [replace(state, receive_timeout=0.0) for state in seen]
        if never_wakes(untimed, Machine(0, 0)) is None:  # the cheap part first
            return None, None
        machine = Machine(pending_alarms(), bytes_in_flight(self._init, diag=self._diag))
        if never_wakes(untimed, machine) is None:
            return None, None
        states = tuple(
            replace(state, receive_timeout=receive_timeout(state.pid, state.fd))
            if state.socket and state.fd is not None
            else state
            for state in seen
        )
        how = never_wakes(states, machine)
        if how is None or self._peer_quiet() != before:
            return None, None
        return (before, states), how
