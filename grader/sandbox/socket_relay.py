"""Hands the grader sockets made inside a container's network namespace, where it cannot enter itself.

Run as a plain file (``python3 -I socket_relay.py SOCKET_PATH LIFETIME``) in a trusted
container that joins a student container's network (``network_mode=container:<id>``):
standard library only, nothing from the ``grader`` package. For each connection on the
Unix socket SOCKET_PATH (in a folder the grader holds, bind-mounted here; never an
abstract socket, which the student could reach from the shared namespace), it reads
``udp`` or ``tcp``, makes that socket here, and passes its file descriptor back
(SCM_RIGHTS). The socket stays in this namespace wherever its descriptor goes, so the
grader then talks to the student program over loopback exactly as if it had entered the
namespace itself: nothing is forwarded, nothing is copied.

It exits after LIFETIME seconds, or on SIGTERM.
"""

from __future__ import annotations

import os
import socket
import sys
import time

KINDS = {b"udp": socket.SOCK_DGRAM, b"tcp": socket.SOCK_STREAM}


def serve(path: str, lifetime: float) -> None:
    deadline = time.monotonic() + lifetime
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    os.chmod(path + ".new", 0o600)
    listener.listen(8)
    os.rename(path + ".new", path)  # appears only once it accepts: the grader may connect at once
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            break
        with conn:
            conn.settimeout(5)
            try:
                kind = KINDS.get(conn.recv(8).strip())
                if kind is None:
                    continue
                made = socket.socket(socket.AF_INET, kind)
                with made:
                    socket.send_fds(conn, [b"ok"], [made.fileno()])
            except OSError:
                continue


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]))
