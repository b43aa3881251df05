"""The grader's sockets, made inside a student container's own network namespace.

A student container has loopback only (`network_mode="none"`): nothing routes in or out.
The grader still reaches it, because a socket belongs to the namespace it was created in
and stays there whichever thread or namespace later uses it. So a short-lived thread
enters the container's namespace (`setns` on `/proc/<pid>/ns/net`), creates the socket and
hands it back; the grader's own threads never leave the host's namespace.

Entering a namespace needs CAP_SYS_ADMIN (root); `can_enter()` tells whether we have it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

CLONE_NEWNET = 0x40000000


_libc = ctypes.CDLL(None, use_errno=True)


class SocketMaker(Protocol):
    """Makes the grader's sockets inside one container's network namespace; `close()` when done."""

    def __call__(self, family: int, kind: int, proto: int = 0) -> socket.socket: ...

    def close(self) -> None: ...


class NamespaceError(OSError):
    """The namespace cannot be entered (gone, or not ours to enter)."""


def _in_namespace(namespace_fd: int, make: Callable[[], socket.socket]) -> socket.socket:
    outcome: list[socket.socket | BaseException] = []

    def enter() -> None:
        try:
            if _libc.setns(namespace_fd, CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise NamespaceError(code, f"cannot enter the container's network namespace: {os.strerror(code)}")
            outcome.append(make())
        except BaseException as exc:  # handed to the caller's thread, never lost in this one
            outcome.append(exc)

    # A fresh thread each time: a thread that entered a namespace is never reused for
    # anything else, so no other socket of the grader can end up in there by accident.
    thread = threading.Thread(target=enter, name="netns", daemon=True)
    thread.start()
    thread.join()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


class NamespaceSockets:
    """Makes sockets in the network namespace of process `pid` (a container's init).

    The namespace file is opened once: the sockets keep working even after that process
    is gone (a crashed server), and a reused PID can never send us somewhere else.
    """

    def __init__(self, pid: int):
        try:
            self._fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NamespaceError(
                exc.errno or errno.ESRCH, f"the container's network namespace is gone: {exc.strerror}"
            ) from None

    def __call__(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        if self._fd < 0:
            raise NamespaceError(errno.EBADF, "the container's network namespace was already released")
        return _in_namespace(self._fd, lambda: socket.socket(family, kind, proto))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def can_enter() -> bool:
    """Whether this process may enter network namespaces: tried on our own, which changes nothing."""
    try:
        sockets = NamespaceSockets(os.getpid())
    except OSError:
        return False
    try:
        sockets(socket.AF_INET, socket.SOCK_DGRAM).close()
        return True
    except OSError:
        return False
    finally:
        sockets.close()


RELAY_WAIT = 10.0  # seconds for a relay container to start listening


class RelaySockets:
    """Sockets passed to us by a relay inside the namespace (grader/sandbox/socket_relay.py).

    Where the grader may not enter namespaces (not root), a trusted container that joins
    the student's network makes the sockets and hands their descriptors over a Unix
    socket; they behave exactly like those `NamespaceSockets` makes.
    """

    def __init__(self, path: str, on_close: Callable[[], None] = lambda: None):
        self._path = path
        self._on_close = on_close

    def __call__(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        names: dict[int, bytes] = {socket.SOCK_DGRAM: b"udp", socket.SOCK_STREAM: b"tcp"}
        if family != socket.AF_INET or proto != 0 or kind not in names:
            raise NamespaceError(errno.EAFNOSUPPORT, "the socket relay makes IPv4 UDP and TCP sockets only")
        name = names[kind]
        deadline = time.monotonic() + RELAY_WAIT
        while True:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
                channel.settimeout(RELAY_WAIT)
                try:
                    channel.connect(self._path)
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() >= deadline:
                        raise NamespaceError(errno.ETIMEDOUT, "the socket relay did not start") from None
                    time.sleep(0.01)
                    continue
                channel.sendall(name)
                _, fds, _, _ = socket.recv_fds(channel, 16, 1)
            if not fds:
                raise NamespaceError(errno.EPROTO, "the socket relay sent no socket")
            return socket.socket(family, kind, fileno=fds[0])

    def close(self) -> None:
        self._on_close()
