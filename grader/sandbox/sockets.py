"""Which sockets a program has bound, read from the kernel's tables: pure parsing.

The grader never runs anything inside a student's container; it reads the container's
network namespace from the host (/proc/<pid>/net/*), so it can tell "listening on
127.0.0.1 only" or "listening on port 5000" apart from "not listening at all".
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.sock_diag import ALL_STATES, MAX_SOCKETS, TCP_ESTABLISHED, TCP_LISTEN, dump, states

# Inside a sandbox's loopback-only network namespace, the grader reaches a server at this
# address, which stands for "the machine's own address": a server bound to '' (or to its
# host name, which the sandbox maps here) is reached, one bound to 127.0.0.1 alone is not,
# just as it would not be from another machine.
HOST_ADDRESS = "127.0.0.2"

_TCP_LISTEN = "0A"
_TCP_ESTABLISHED = "01"
_UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class BoundSocket:
    transport: str  # "udp" | "tcp"
    host: str
    port: int

    @property
    def all_interfaces(self) -> bool:
        return self.host in ("0.0.0.0", "::")

    @property
    def loopback_only(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback and self.host != HOST_ADDRESS

    def __str__(self) -> str:
        return f"{self.transport.upper()} {self.host}:{self.port}"


def parse_proc_net(text: str, transport: str, ipv6: bool = False, uid: int | None = None) -> list[BoundSocket]:
    """Listening TCP sockets or unconnected bound UDP sockets from /proc/net/{tcp,udp}[6].

    `uid` keeps only that user's sockets: a container's namespace also holds Docker's
    embedded DNS resolver (root, on 127.0.0.11), which is not the student's.
    """
    wanted = _TCP_LISTEN if transport == "tcp" else _UDP_UNCONNECTED
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8 or fields[3] != wanted or (uid is not None and int(fields[7]) != uid):
            continue
        host_hex, port_hex = fields[1].split(":")
        found.append(BoundSocket(transport, _decode_host(host_hex, ipv6), int(port_hex, 16)))
    return found


def _decode_host(hex_addr: str, ipv6: bool) -> str:
    raw = bytes.fromhex(hex_addr)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if not ipv6:
        return socket.inet_ntop(socket.AF_INET, words)
    addr = ipaddress.IPv6Address(words)
    return str(addr.ipv4_mapped or addr)


def read_namespace(pid: int, uid: int | None = None, diag: socket.socket | None = None) -> list[BoundSocket]:
    """The bound server sockets in the network namespace of `pid` (a container's init).

    With `diag`, a sock_diag socket of that namespace, TCP's come from it: see grader.sandbox.sock_diag.
    """
    found: list[BoundSocket] = []
    transports = ("udp",) if diag is not None else ("tcp", "udp")
    if diag is not None:
        found.extend(
            BoundSocket("tcp", s.local[0], s.local[1])
            for s in dump(diag, states(TCP_LISTEN))
            if uid is None or s.uid == uid
        )
    for transport in transports:
        for suffix, v6 in (("", False), ("6", True)):
            try:
                text = Path(f"/proc/{pid}/net/{transport}{suffix}").read_text()
            except OSError:
                continue
            found.extend(parse_proc_net(text, transport, v6, uid))
    return found


def parse_unread(text: str, local_port: int, peer_port: int) -> int | None:
    """Bytes the program has not read yet on its TCP connection local_port <- peer_port, from /proc/net/tcp[6].

    None when there is no such connection (not accepted by the kernel yet, or gone).
    """
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[3] != _TCP_ESTABLISHED:
            continue
        if int(fields[1].rsplit(":", 1)[1], 16) == local_port and int(fields[2].rsplit(":", 1)[1], 16) == peer_port:
            return int(fields[4].split(":")[1], 16)
    return None


def read_unread(pid: int, local_port: int, peer_port: int, diag: socket.socket | None = None) -> int | None:
    """`parse_unread` over the TCP tables of the network namespace of `pid`, or over `diag`'s when given."""
    if diag is not None:
        for s in dump(diag, states(TCP_ESTABLISHED)):
            if s.local[1] == local_port and s.remote[1] == peer_port:
                return s.receive_queue
        return None
    for suffix in ("", "6"):
        try:
            text = Path(f"/proc/{pid}/net/tcp{suffix}").read_text()
        except OSError:
            continue
        unread = parse_unread(text, local_port, peer_port)
        if unread is not None:
            return unread
    return None


def parse_released(text: str, local_port: int, peer_port: int) -> bool:
    """Whether no process holds the program's end of its TCP connection local_port <- peer_port, from /proc/net/tcp[6].

    Its inode is 0 then: the program closed it, and only the kernel finishes the connection.
    """
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        if int(fields[1].rsplit(":", 1)[1], 16) == local_port and int(fields[2].rsplit(":", 1)[1], 16) == peer_port:
            return fields[9] == "0"
    return False


def read_released(pid: int, local_port: int, peer_port: int, diag: socket.socket | None = None) -> bool:
    """`parse_released` over the TCP tables of the network namespace of `pid`, or over `diag`'s when given."""
    if diag is not None:
        return any(
            s.local[1] == local_port and s.remote[1] == peer_port and s.inode == 0 for s in dump(diag, ALL_STATES)
        )
    for suffix in ("", "6"):
        try:
            if parse_released(Path(f"/proc/{pid}/net/tcp{suffix}").read_text(), local_port, peer_port):
                return True
        except OSError:
            continue
    return False


def parse_tcp_local_ports(text: str) -> set[int]:
    """The local port of every TCP socket of /proc/net/tcp[6], in any state (TIME_WAIT included)."""
    ports = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and ":" in fields[1]:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def read_tcp_local_ports(pid: int, diag: socket.socket | None = None) -> set[int] | None:
    """`parse_tcp_local_ports` over the network namespace of `pid`, or over `diag`'s when given.

    None when the answer was cut short (more sockets than sock_diag's answer keeps): not all are known.
    """
    if diag is not None:
        found = dump(diag, ALL_STATES)
        return None if len(found) >= MAX_SOCKETS else {s.local[1] for s in found}
    ports: set[int] = set()
    for suffix in ("", "6"):
        try:
            ports |= parse_tcp_local_ports(Path(f"/proc/{pid}/net/tcp{suffix}").read_text())
        except OSError:
            continue
    return ports
