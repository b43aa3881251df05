#!/usr/bin/env python3
"""UDP uppercase server: the reference answer to the Kurose & Ross socket exercise.

Every datagram is answered, to its sender, with the same text in upper case.

    python3 -u udp_server.py [--host 0.0.0.0] [--port 12000]
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from types import FrameType

# 65,507 bytes is the largest UDP payload over IPv4; a buffer this big never truncates one.
RECV_BUFFER = 65535
MAX_PAYLOAD = 65507


def uppercase(data: bytes) -> bytes:
    """Upper-case the UTF-8 text in `data`; bytes that are not UTF-8 come back unchanged."""
    # surrogateescape turns each undecodable byte into a lone surrogate, which upper()
    # leaves alone and encode() turns back into that very byte: the server never fails
    # on binary input, and never corrupts it.
    return data.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")


def serve(sock: socket.socket) -> None:
    while True:
        try:
            message, client = sock.recvfrom(RECV_BUFFER)
        except ConnectionError:
            # Some systems (Windows) report an ICMP "port unreachable" for an earlier reply
            # here. It concerns a client that has gone; it is no reason to stop serving.
            continue
        # Upper-casing can lengthen text (U+0149 "ŉ" becomes two letters, 2 bytes -> 3), so
        # the reply to a datagram near the size limit may not fit in one; a truncated
        # answer beats none.
        reply = uppercase(message)[:MAX_PAYLOAD]
        try:
            sock.sendto(reply, client)
        except OSError:
            # The client may have vanished, or its address may be unreachable; the next
            # client must still be served.
            pass


def stop(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into the same exception as Ctrl-C, so both leave through one clean
    # path. An explicit handler also matters when this runs as PID 1 in a container,
    # where the kernel ignores signals that have no handler.
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="UDP server that upper-cases each datagram.")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=12000, help="UDP port (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((args.host, args.port))
        except OSError as exc:
            print(f"udp_server: cannot bind {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        try:
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            print(f"UDP server listening on {args.host}:{sock.getsockname()[1]}", flush=True)
            serve(sock)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
