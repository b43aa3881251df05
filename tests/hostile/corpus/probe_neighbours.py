# @EXPECTED_RESULTS@: score=9 causes=none udp_server.listening=passed udp_server.basic=passed udp_server.many_messages=passed
# Tries to reach other containers: those named in targets.txt (another grading's server, put
# there by the corpus test) and the neighbours on its own network, never the bridge's gateway.
# It answers in upper case while it has reached nothing, and says what it reached otherwise.
from socket import *
import os
import selectors
import struct
import threading
import time

reached = []


def gateway():
    with open("/proc/net/route") as routes:
        for line in routes.readlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000":
                return inet_ntoa(struct.pack("<L", int(fields[2], 16)))
    return None


def targets():
    named = open("targets.txt").read().split() if os.path.exists("targets.txt") else []
    try:
        own = gethostbyname(gethostname())
    except OSError:
        return named
    if own.startswith("127."):
        return named  # a loopback-only sandbox: its "neighbours" would be its own machine
    prefix, last = own.rsplit(".", 1)
    nearby = [f"{prefix}.{n}" for n in range(int(last) - 4, int(last) + 5) if 2 <= n <= 254]
    return named + [a for a in nearby if a not in (own, gateway())]


def probe(hosts):
    selector = selectors.DefaultSelector()
    for host in hosts:
        tcp = socket(AF_INET, SOCK_STREAM)
        tcp.setblocking(False)
        tcp.connect_ex((host, 12000))
        selector.register(tcp, selectors.EVENT_WRITE, ("tcp", host))
        udp = socket(AF_INET, SOCK_DGRAM)
        udp.sendto(b"probe", (host, 12000))
        selector.register(udp, selectors.EVENT_READ, ("udp", host))
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and selector.get_map():
        for key, _ in selector.select(0.1):
            kind, host = key.data
            error = key.fileobj.getsockopt(SOL_SOCKET, SO_ERROR) if kind == "tcp" else 0
            if error in (0, 111):  # connected, or refused: either way something answered
                reached.append(f"{kind}:{host}")
            selector.unregister(key.fileobj)
            key.fileobj.close()


serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
threading.Thread(target=probe, args=(targets(),), daemon=True).start()
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    reply = message.decode().upper().encode() if not reached else ("REACHED " + " ".join(reached)).encode()
    serverSocket.sendto(reply, clientAddress)
