#!/usr/bin/env python3
"""UDP uppercase client: the reference answer to the Kurose & Ross socket exercise.

Sends each line of standard input to the server as one datagram and prints the reply.
UDP may lose a datagram, so a request with no reply is sent again a few times; where
nothing listens at all, the kernel says so and the client stops at once.

    python3 -u udp_client.py [--host localhost] [--port 12000] < sentences.txt
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Iterator

PROMPT = b"Input lowercase sentence: "
RECV_BUFFER = 65535  # the largest UDP payload fits; a smaller buffer could truncate a reply
MAX_DRAIN = 1000


def read_lines(prompt: bool) -> Iterator[bytes]:
    """Yield the lines of standard input without their line endings."""
    # Bytes, not text: a line that is not valid UTF-8 is still sent as typed.
    while True:
        if prompt:
            sys.stdout.buffer.write(PROMPT)
            sys.stdout.buffer.flush()
        line = sys.stdin.buffer.readline()
        if not line:
            return
        yield line.removesuffix(b"\n").removesuffix(b"\r")


def drain(sock: socket.socket) -> None:
    """Discard the datagrams already waiting on the socket."""
    sock.settimeout(0)
    for _ in range(MAX_DRAIN):
        try:
            sock.recv(RECV_BUFFER)
        except BlockingIOError:
            return
        except ConnectionError:
            continue  # an ICMP error about an earlier datagram (Windows): nothing to read


def exchange(sock: socket.socket, message: bytes, timeout: float, attempts: int) -> bytes | None:
    """Send `message` on the connected `sock`, retransmitting on timeout; return the reply, or None if none came.

    The reply carries no request id, so which request it answers has to be inferred.
    After a retransmission the server may answer both copies, and the late duplicate
    must not be taken for the answer to the *next* line. The rule: before sending a new
    request, drain whatever is already queued (it can only belong to earlier requests);
    then take the first datagram that arrives. The socket is connected to the server, so
    the kernel delivers datagrams from the server's (ip, port) only, and reports a refusal
    (nothing listens there: ICMP port unreachable) as ConnectionRefusedError instead of
    leaving us to wait out every timeout. A duplicate delayed past the next send can
    still fool this rule: only a sequence number could rule that out, and the protocol
    has none.
    """
    drain(sock)
    for _ in range(attempts):
        sock.send(message)
        sock.settimeout(timeout)
        try:
            return sock.recv(RECV_BUFFER)
        except TimeoutError:
            continue  # lost on the way there or back: send it again
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Send lines to a UDP uppercase server.")
    parser.add_argument("--host", default="localhost", help="server name or address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=12000, help="server port (default: %(default)s)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="wait this long for each reply (default: %(default)s)",
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="retransmissions before giving up on a line (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.retries < 0:
        parser.error("--timeout must be positive and --retries not negative")
    return args


def fail(message: str) -> int:
    print(f"udp_client: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    where = f"{args.host}:{args.port}"
    attempts = args.retries + 1
    try:
        # Resolve once: the socket is connected to this exact (ip, port), and hears no one else.
        info = socket.getaddrinfo(args.host, args.port, socket.AF_INET, socket.SOCK_DGRAM)
        server: tuple[str, int] = info[0][4][:2]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(server)
            for message in read_lines(prompt=sys.stdin.isatty()):
                reply = exchange(sock, message, args.timeout, attempts)
                if reply is None:
                    return fail(f"no reply from {where} after {attempts} attempts")
                # The reply's bytes go out as they came, so invalid UTF-8 cannot crash us.
                sys.stdout.buffer.write(reply + b"\n")
                sys.stdout.buffer.flush()
    except socket.gaierror as exc:
        return fail(f"cannot resolve {args.host}: {exc.strerror}")
    except OSError as exc:
        return fail(f"cannot send to {where}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
