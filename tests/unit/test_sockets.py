"""Reading bound sockets from /proc/<pid>/net/{tcp,udp}[6] text: pure parsing, sample lines."""

from __future__ import annotations

import pytest

from grader.sandbox import sockets
from grader.sandbox.sock_diag import MAX_SOCKETS, DiagSocket
from grader.sandbox.sockets import BoundSocket, parse_proc_net, parse_unread

STUDENT = 1000
ROOT = 0

UDP_HEADER = (
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops"
)
TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
TCP6_HEADER = (
    "  sl  local_address                         remote_address                        st tx_queue "
    "rx_queue tr tm->when retrnsmt   uid  timeout inode"
)


def row(sl: int, local: str, remote: str, state: str, uid: int, inode: int = 4242) -> str:
    """One /proc/net line in the kernel's layout: uid is the 8th column."""
    return (
        f"  {sl:>3}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000 "
        f"{uid:>5}        0 {inode} 2 0000000000000000 0"
    )


def table(header: str, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


V4_ANY = "00000000:0000"
V6_ANY = "00000000000000000000000000000000:0000"


# ------------------------------------------------------------------ IPv4


@pytest.mark.parametrize(
    ("local", "host", "port"),
    [
        ("00000000:2EE0", "0.0.0.0", 12000),
        ("0100007F:1388", "127.0.0.1", 5000),
        ("0B00007F:0035", "127.0.0.11", 53),
        ("020011AC:2EE0", "172.17.0.2", 12000),
    ],
)
def test_a_bound_udp_socket_is_decoded_to_host_and_port(local, host, port):
    text = table(UDP_HEADER, row(0, local, V4_ANY, "07", STUDENT))

    assert parse_proc_net(text, "udp") == [BoundSocket("udp", host, port)]


def test_a_listening_tcp_socket_is_found():
    text = table(TCP_HEADER, row(0, "00000000:2EE0", V4_ANY, "0A", STUDENT))

    assert parse_proc_net(text, "tcp") == [BoundSocket("tcp", "0.0.0.0", 12000)]


@pytest.mark.parametrize(
    ("state", "name"),
    [("01", "ESTABLISHED"), ("06", "TIME_WAIT"), ("08", "CLOSE_WAIT"), ("07", "CLOSE")],
)
def test_tcp_sockets_that_are_not_listening_are_ignored(state, name):
    text = table(TCP_HEADER, row(0, "0100007F:2EE0", "0100007F:D431", state, STUDENT))

    assert parse_proc_net(text, "tcp") == []


def test_a_connected_udp_socket_is_not_a_bound_server_socket():
    text = table(UDP_HEADER, row(0, "0100007F:D431", "0100007F:2EE0", "01", STUDENT))

    assert parse_proc_net(text, "udp") == []


def test_only_the_listening_rows_of_a_mixed_tcp_table_are_kept():
    text = table(
        TCP_HEADER,
        row(0, "00000000:2EE0", V4_ANY, "0A", STUDENT),
        row(1, "0100007F:2EE0", "0100007F:D431", "01", STUDENT),
        row(2, "0100007F:1388", V4_ANY, "0A", STUDENT),
    )

    assert parse_proc_net(text, "tcp") == [
        BoundSocket("tcp", "0.0.0.0", 12000),
        BoundSocket("tcp", "127.0.0.1", 5000),
    ]


def test_the_header_line_is_skipped():
    assert parse_proc_net(table(UDP_HEADER), "udp") == []


def test_blank_and_short_lines_are_ignored():
    text = UDP_HEADER + "\n\n   garbage line\n" + row(0, "00000000:2EE0", V4_ANY, "07", STUDENT) + "\n\n"

    assert parse_proc_net(text, "udp") == [BoundSocket("udp", "0.0.0.0", 12000)]


# ------------------------------------------------------------------ uid filter

DOCKER_DNS = table(
    UDP_HEADER,
    row(0, "0B00007F:A1B2", V4_ANY, "07", ROOT),
    row(1, "00000000:2EE0", V4_ANY, "07", STUDENT),
)


def test_the_uid_filter_drops_roots_docker_dns_socket():
    assert parse_proc_net(DOCKER_DNS, "udp", uid=STUDENT) == [BoundSocket("udp", "0.0.0.0", 12000)]


def test_without_a_uid_filter_every_users_sockets_are_kept():
    hosts = {s.host for s in parse_proc_net(DOCKER_DNS, "udp")}

    assert hosts == {"127.0.0.11", "0.0.0.0"}


def test_the_uid_filter_can_select_root():
    assert parse_proc_net(DOCKER_DNS, "udp", uid=ROOT) == [BoundSocket("udp", "127.0.0.11", 0xA1B2)]


# ------------------------------------------------------------------ IPv6


@pytest.mark.parametrize(
    ("local", "host"),
    [
        ("00000000000000000000000000000000:2EE0", "::"),
        ("00000000000000000000000001000000:2EE0", "::1"),
        ("0000000000000000FFFF00000100007F:2EE0", "127.0.0.1"),
        ("0000000000000000FFFF000000000000:2EE0", "0.0.0.0"),
        ("B80D0120000000000000000001000000:2EE0", "2001:db8::1"),
    ],
    ids=["any", "loopback", "v4-mapped loopback", "v4-mapped any", "global"],
)
def test_an_ipv6_listening_socket_is_decoded(local, host):
    text = table(TCP6_HEADER, row(0, local, V6_ANY, "0A", STUDENT))

    assert parse_proc_net(text, "tcp", ipv6=True) == [BoundSocket("tcp", host, 12000)]


@pytest.mark.parametrize(
    ("host", "all_interfaces", "loopback_only"),
    [
        ("0.0.0.0", True, False),
        ("::", True, False),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("172.17.0.2", False, False),
    ],
)
def test_bound_socket_tells_all_interfaces_from_loopback(host, all_interfaces, loopback_only):
    sock = BoundSocket("udp", host, 12000)

    assert sock.all_interfaces is all_interfaces
    assert sock.loopback_only is loopback_only


def test_a_v4_mapped_any_address_counts_as_all_interfaces():
    text = table(TCP6_HEADER, row(0, "0000000000000000FFFF000000000000:2EE0", V6_ANY, "0A", STUDENT))

    (sock,) = parse_proc_net(text, "tcp", ipv6=True)

    assert sock.all_interfaces


def test_a_bound_socket_reads_as_transport_host_and_port():
    assert str(BoundSocket("udp", "127.0.0.1", 5000)) == "UDP 127.0.0.1:5000"


TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2EE0 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1 1 0 100 0 0 10 0
   1: 020012AC:2EE0 010012AC:A1B2 01 00000000:00000019 00:00000000 00000000 10001        0 2 1 0 20 4 30 10 -1
   2: 020012AC:2EE0 010012AC:A1B3 01 00000000:00000000 00:00000000 00000000 10001        0 3 1 0 20 4 30 10 -1
   3: 020012AC:2EE0 010012AC:A1B4 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0 0 0 0 0 0
"""


@pytest.mark.parametrize(("peer_port", "unread"), [(0xA1B2, 25), (0xA1B3, 0), (0xA1B4, None), (0xBEEF, None)])
def test_unread_bytes_are_the_receive_queue_of_the_established_connection_from_that_peer(peer_port, unread):
    assert parse_unread(TCP_TABLE, 12000, peer_port) == unread


def test_a_sock_diag_answer_cut_short_leaves_the_ports_in_use_unknown(monkeypatch):
    many = [DiagSocket(2, 6, ("127.0.0.2", 40000 + n), ("127.0.0.1", 12000), 0, 0, 0) for n in range(MAX_SOCKETS)]
    monkeypatch.setattr(sockets, "dump", lambda diag, wanted: many)
    assert sockets.read_tcp_local_ports(1, diag=object()) is None  # type: ignore[arg-type]
    monkeypatch.setattr(sockets, "dump", lambda diag, wanted: many[:3])
    assert sockets.read_tcp_local_ports(1, diag=object()) == {40000, 40001, 40002}  # type: ignore[arg-type]
