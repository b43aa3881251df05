#!/usr/bin/env python3
"""TCP uppercase client: the reference answer to the Kurose & Ross socket exercise.

For each line of standard input: connect, send the line, read the reply until the
server closes the connection, print it.

    python3 -u tcp_client.py [--host localhost] [--port 12000] < sentences.txt
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Iterator

PROMPT = b"Input lowercase sentence: "
RECV_SIZE = 4096


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


def converse(sock: socket.socket, message: bytes) -> bytes:
    sock.sendall(message)
    # The half-close tells the server the request is complete, so it need not guess
    # from a pause; we can still read its reply.
    sock.shutdown(socket.SHUT_WR)
    # The reply may arrive in several pieces: it is complete only when the server closes.
    chunks = []
    while chunk := sock.recv(RECV_SIZE):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Send lines to a TCP uppercase server.")
    parser.add_argument("--host", default="localhost", help="server name or address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=12000, help="server port (default: %(default)s)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="limit for connecting and for each wait for data (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def fail(message: str) -> int:
    print(f"tcp_client: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    where = f"{args.host}:{args.port}"
    try:
        for message in read_lines(prompt=sys.stdin.isatty()):
            try:
                sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
            except OSError as exc:
                return fail(f"cannot connect to {where}: {exc.strerror or exc}")
            with sock:
                try:
                    reply = converse(sock, message)
                except TimeoutError:
                    return fail(f"no reply from {where} within {args.timeout} s")
                except OSError as exc:
                    return fail(f"connection to {where} failed: {exc.strerror or exc}")
            # The reply's bytes go out as they came, so invalid UTF-8 cannot crash us.
            sys.stdout.buffer.write(reply + b"\n")
            sys.stdout.buffer.flush()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
