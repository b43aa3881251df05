"""The first process of a client's container: it waits for the grader's go, then becomes the client.

A client sends its first datagram the moment it starts, so the grader's scripted server
must already listen inside the client's network namespace, and that namespace exists only
once the container runs. So the container starts this instead of the program: it waits on
127.0.0.1:GO_PORT of its loopback for one datagram from the grader (the command line and
the typed input), answers it, puts the input on a pipe as stdin and execs the command: the
same process, with nothing of this script left. The container needs no second container
to hold its network, and nothing but the grader, whose sockets are the only others in that
namespace, can send the go.

Runs inside the container as `python3 -I -S -c <this file's text> LIFETIME`, as the
student's user: the standard library only, no import of the grader. With no go within
LIFETIME seconds it exits by itself (status 125), so a container a killed grader left ends.
"""

import base64
import json
import os
import socket
import sys

GO_PORT = 61000  # above Linux's ephemeral range (32768-60999): no client's own socket is on it
GONE = 125
NOT_FOUND = 127  # a shell's status for a command it cannot run


def main(argv: list[str]) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", GO_PORT))
        sock.settimeout(float(argv[1]))
        try:
            order, grader = sock.recvfrom(65535)
        except OSError:
            return GONE
        sock.sendto(b"go", grader)
    go = json.loads(order)
    command = [str(part) for part in go["argv"]]
    typed = base64.b64decode(go["stdin"])
    read, write = os.pipe()
    os.write(write, typed)  # the grader sends less than a pipe holds, so this never blocks
    os.close(write)
    os.dup2(read, 0)
    os.close(read)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        os.write(2, f"{command[0]}: {exc.strerror}\n".encode())
    return NOT_FOUND


if __name__ == "__main__":
    sys.exit(main(sys.argv))
