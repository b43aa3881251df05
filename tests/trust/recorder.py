"""Listens on UDP and TCP ports and writes one JSON line per datagram or connection it gets.

Run by tests/trust/test_network_isolation.py, inside the outside host's network namespace
(`ip netns exec`) and on the grading machine itself. It never sends anything but the TCP
handshake of a connection it accepts, and ends by itself when its test process is gone or
its lifetime is over, so a test that was killed leaves no listener holding its ports.

    python3 recorder.py --log FILE --ports 40917,12000 [--lifetime 900] [--parent PID]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

IP_PKTINFO = 8  # Linux; the socket module of Python 3.11 does not name it
MAX_RECORDS = 10_000  # a flood must not fill the disk


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--ports", required=True, help="comma-separated")
    parser.add_argument("--lifetime", type=float, default=900.0)
    parser.add_argument("--parent", type=int, help="stop once this process is no longer our parent")
    args = parser.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    selector = selectors.DefaultSelector()
    for port in ports:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # The datagram's destination address says which of the machine's addresses a
        # program aimed at (the bridge gateway, the veth end, ...).
        udp.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        udp.bind(("0.0.0.0", port))
        selector.register(udp, selectors.EVENT_READ, ("udp", port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(64)
        selector.register(tcp, selectors.EVENT_READ, ("tcp", port))
    records = 0
    deadline = time.monotonic() + args.lifetime
    with open(args.log, "a", buffering=1) as log:
        log.write(json.dumps({"ready": True}) + "\n")
        while not stop and time.monotonic() < deadline and args.parent in (None, os.getppid()):
            for key, _ in selector.select(0.2):
                proto, port = key.data
                if proto == "udp":
                    data, ancillary, _, (src, sport) = key.fileobj.recvmsg(512, socket.CMSG_SPACE(12))
                    dst = next(
                        (
                            socket.inet_ntoa(c[2][8:12])
                            for c in ancillary
                            if c[0] == socket.IPPROTO_IP and c[1] == IP_PKTINFO
                        ),
                        "?",
                    )
                    payload = data[:64].decode("utf-8", "replace")
                else:
                    connection, (src, sport) = key.fileobj.accept()
                    dst = connection.getsockname()[0]
                    payload = ""
                    connection.close()
                if records < MAX_RECORDS:
                    records += 1
                    log.write(
                        json.dumps(
                            {
                                "proto": proto,
                                "port": port,
                                "src": src,
                                "sport": sport,
                                "dst": dst,
                                "payload": payload,
                                "at": time.time(),
                            }
                        )
                        + "\n"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
