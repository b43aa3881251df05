#!/usr/bin/env python3
"""TCP uppercase server: the reference answer to the Kurose & Ross socket exercise.

Each connection carries one request; the server replies once with the same bytes in
upper case and closes the connection. Many clients are served at once, one thread each.

    python3 -u tcp_server.py [--host 0.0.0.0] [--port 12000] [--quiet-period 0.2]
"""

from __future__ import annotations

import argparse
import signal
import socket
import socketserver
import sys
from types import FrameType

RECV_SIZE = 65536
MAX_REQUEST = 1024 * 1024  # a client cannot make us buffer more than this


def uppercase(data: bytes) -> bytes:
    """Upper-case the UTF-8 text in `data`; bytes that are not UTF-8 come back unchanged."""
    # surrogateescape turns each undecodable byte into a lone surrogate, which upper()
    # leaves alone and encode() turns back into that very byte: the server never fails
    # on binary input, and never corrupts it.
    return data.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")


def read_request(conn: socket.socket, quiet_period: float, idle_timeout: float) -> bytes:
    """Collect one request from a stream that has no message boundaries.

    TCP may deliver one send() in several pieces, or several in one, so a single recv()
    proves nothing. The request is complete at a newline, at the client's half-close, or
    when the client falls quiet after sending something: the textbook client sends once
    and waits for the reply without closing, so silence is its only end-of-request mark.
    A client that sends nothing at all is given up on after `idle_timeout` (returns b"").
    """
    received = bytearray()
    conn.settimeout(idle_timeout)
    while len(received) < MAX_REQUEST:
        try:
            chunk = conn.recv(min(RECV_SIZE, MAX_REQUEST - len(received)))
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
        if b"\n" in chunk:
            break
        conn.settimeout(quiet_period)
    return bytes(received)


class UppercaseHandler(socketserver.BaseRequestHandler):
    server: UppercaseServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        try:
            request = read_request(conn, self.server.quiet_period, self.server.idle_timeout)
            # A client that stops reading must not hold this thread forever either.
            conn.settimeout(self.server.idle_timeout)
            conn.sendall(uppercase(request))
        except OSError:
            # Reset, broken pipe or a stalled reader: the client has gone, and there is
            # nobody left to tell. Other connections are unaffected.
            pass


class UppercaseServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restart at once, without waiting out TIME_WAIT
    daemon_threads = True  # a client stuck mid-request must not block shutdown
    request_queue_size = 128  # many clients may connect in the same instant

    def __init__(self, address: tuple[str, int], quiet_period: float, idle_timeout: float):
        self.quiet_period = quiet_period
        self.idle_timeout = idle_timeout
        super().__init__(address, UppercaseHandler)


def stop(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into the same exception as Ctrl-C, so both leave through one clean
    # path. An explicit handler also matters when this runs as PID 1 in a container,
    # where the kernel ignores signals that have no handler.
    raise KeyboardInterrupt


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="TCP server that upper-cases each request.")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=12000, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--quiet-period",
        type=positive_float,
        default=0.2,
        metavar="SECONDS",
        help="silence after some data that ends a request (default: %(default)s)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection that sends nothing this long (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        server = UppercaseServer((args.host, args.port), args.quiet_period, args.idle_timeout)
    except OSError as exc:
        print(f"tcp_server: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with server:
        try:
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            print(f"TCP server listening on {args.host}:{server.server_address[1]}", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
