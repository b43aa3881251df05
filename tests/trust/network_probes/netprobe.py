# Tries to leave the sandbox the way a hostile student program would; the four programs
# beside it import it. Every address it aims at is owned by a listener of
# tests/trust/test_network_isolation.py, which writes them into targets.json: the outside
# host's namespace, the grading machine's end of that veth, and (when this namespace has
# a default route) its gateway, which for a Docker bridge is an address of the grading
# machine, where the test listens on all interfaces. It resolves no name and sends no DNS
# query: whether a DNS server can be reached is read from the routing table and the
# namespace's socket table (nameserver_routes).
from socket import *
import errno
import ipaddress
import json
import selectors
import struct
import sys
import threading
import time

PROBE_SECONDS = 1.5  # connects still pending then are given up
ROUTE_ERRORS = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def gateway():
    try:
        with open("/proc/net/route") as routes:
            for line in routes.readlines()[1:]:
                fields = line.split()
                if len(fields) > 2 and fields[1] == "00000000":
                    return inet_ntoa(struct.pack("<L", int(fields[2], 16)))
    except OSError:
        pass
    return None


def targets():
    with open("targets.json") as plan_file:
        plan = json.load(plan_file)
    pairs = [(host, port) for host, ports in plan["hosts"] for port in ports]
    via = gateway()
    if via is not None:
        pairs += [(via, port) for port in plan["gateway_ports"]]
    return pairs


def _error_name(code):
    return errno.errorcode.get(code, str(code))


def probe(role):
    """One datagram and one connect to each target; what happened, for the program's stderr."""
    outcomes = []
    selector = selectors.DefaultSelector()
    for host, port in targets():
        udp = socket(AF_INET, SOCK_DGRAM)
        try:
            udp.sendto(f"{role} probe".encode(), (host, port))
            outcomes.append(f"udp {host}:{port} sent")
        except OSError as exc:
            outcomes.append(f"udp {host}:{port} {_error_name(exc.errno)}")
        finally:
            udp.close()
        tcp = socket(AF_INET, SOCK_STREAM)
        tcp.setblocking(False)
        code = tcp.connect_ex((host, port))
        if code in (0, errno.EINPROGRESS):
            selector.register(tcp, selectors.EVENT_WRITE, f"tcp {host}:{port}")
        else:
            outcomes.append(f"tcp {host}:{port} {_error_name(code)}")
            tcp.close()
    deadline = time.monotonic() + PROBE_SECONDS
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(0.1):
            code = key.fileobj.getsockopt(SOL_SOCKET, SO_ERROR)
            outcomes.append(f"{key.data} {'connected' if code == 0 else _error_name(code)}")
            selector.unregister(key.fileobj)
            key.fileobj.close()
    for key in list(selector.get_map().values()):
        outcomes.append(f"{key.data} no answer")
        selector.unregister(key.fileobj)
        key.fileobj.close()
    print(f"netprobe {role}: " + "; ".join(outcomes), file=sys.stderr, flush=True)


def start(role, daemon=True):
    thread = threading.Thread(target=probe, args=(role,), daemon=daemon)
    thread.start()
    return thread


def nameserver_routes():
    """The nameservers of /etc/resolv.conf that this namespace has a way to, found without sending."""
    try:
        with open("/etc/resolv.conf") as conf:
            lines = conf.read().splitlines()
    except OSError:
        lines = []
    servers = [fields[1] for fields in map(str.split, lines) if len(fields) > 1 and fields[0] == "nameserver"]
    reachable = []
    for server in servers or ["127.0.0.1"]:  # glibc asks 127.0.0.1 when none is named
        verdict = _route_to(server)
        if verdict:
            reachable.append(f"{server}({verdict})")
    return reachable


def _route_to(server):
    try:
        address = ipaddress.ip_address(server.split("%")[0])
    except ValueError:
        return None  # glibc skips what is not an address
    if address.is_loopback:
        return _resolver_listening(address)
    family = AF_INET6 if address.version == 6 else AF_INET
    with socket(family, SOCK_DGRAM) as udp:
        try:
            # connect() on a UDP socket only picks a route and a source address: it sends nothing.
            udp.connect((str(address), 53))
        except OSError as exc:
            return None if exc.errno in ROUTE_ERRORS else f"connect {_error_name(exc.errno)}"
    return "route"


def _resolver_listening(address):
    """Whether something in this namespace listens where a query to `address` would land.

    Port 53 on the address or on every address; or any port on a loopback address other
    than 127.0.0.1: Docker's embedded resolver listens on 127.0.0.11 at a random port
    behind a NAT rule that an unprivileged program cannot read, and forwards to the
    grading machine's DNS servers.
    """
    tables = ("/proc/net/udp", "/proc/net/tcp") if address.version == 4 else ("/proc/net/udp6", "/proc/net/tcp6")
    wildcard = "00000000" if address.version == 4 else "0" * 32
    wanted = _proc_hex(address)
    for table in tables:
        try:
            with open(table) as sockets:
                rows = [line.split() for line in sockets.readlines()[1:]]
        except OSError:
            continue
        for fields in rows:
            if len(fields) < 4 or (table.startswith("/proc/net/tcp") and fields[3] != "0A"):
                continue
            host, port = fields[1].split(":")
            port = int(port, 16)
            if (host in (wanted, wildcard) and port == 53) or (
                    host == wanted and address != ipaddress.ip_address("127.0.0.1")):
                return f"listener {table.rsplit('/', 1)[1]} port {port}"
    return None


def _proc_hex(address):
    # The kernel prints each 32-bit word of an address in host (little-endian) order.
    raw = address.packed
    return "".join(raw[i:i + 4][::-1].hex().upper() for i in range(0, len(raw), 4))


def marker(routes):
    """What the programs answer instead of the right reply when a DNS server is in reach."""
    return "nameserver-route " + " ".join(routes)
