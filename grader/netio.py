"""The thin socket layer: plays pure scenario plans over real sockets.

Everything here is I/O and a clock; every decision (what to send, when to retransmit, what
counts as a reply) comes from grader.scenarios and grader.impair. Loops are bounded by the
plan's budget, so a silent or flooding server cannot keep the grader waiting.
"""

from __future__ import annotations

import heapq
import selectors
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from grader.impair import DatagramPipe
from grader.tcp_actions import (
    Action,
    AskUnread,
    Close,
    Connect,
    Connected,
    ConnectFailed,
    Done,
    Eof,
    Error,
    Event,
    HalfClose,
    NeverRead,
    Pause,
    Read,
    Received,
    Send,
    Sent,
    StreamClient,
    Stuck,
    Tick,
    TimedOut,
    UnreadBytes,
)

if TYPE_CHECKING:
    from grader.scenarios.udp_exchange import UdpClientMachine

Address = tuple[str, int]
MAX_DATAGRAM = 65535
MAX_RECEIVED = 5000  # datagrams kept per check; a flooding server cannot grow memory
MAX_RECEIVED_BYTES = 8 << 20  # and their bytes: 5000 datagrams of 64 KiB would be 320 MiB
RECV_SIZE = 65536  # bytes asked of one recv; how many make a reply is the machine's call

Unread = Callable[[int], "int | None"]
Released = Callable[[int], bool]
# A fresh look-out on the server: asked with the time, it says how the server is blocked
# forever once that has held, None until then (grader.sandbox.blocked).
StuckWatch = Callable[[], "Callable[[float], str | None] | None"]
STUCK_PROBE = 0.05  # seconds a Read(until_stuck) waits between two looks at the server
SocketFactory = Callable[[int, int], socket.socket]  # where the grader's sockets are made: see sandbox.netns


def play_udp(
    machine: UdpClientMachine, target: Address, stop_at: float | None = None, make_socket: SocketFactory = socket.socket
) -> None:
    """Drive the scripted UDP client against `target` until done, out of budget, or at `stop_at` (monotonic).

    `make_socket` makes each socket where `target` can be reached (inside a sandbox's own
    network namespace, say).
    """
    plan = machine.plan
    sockets = [_udp_socket(target, make_socket) for _ in range(plan.clients)]
    selector = selectors.DefaultSelector()
    for index, sock in enumerate(sockets):
        selector.register(sock, selectors.EVENT_READ, index)
    pipe = DatagramPipe()
    by_index = {r.index: r for r in plan.requests}
    # A fate depends only on (message, attempt): first sends are decided before the clock
    # starts, so no reply waits behind a seeded draw for the request that follows it.
    first_fates = {r.index: plan.schedule.fate(r.index, 0) for r in plan.requests}
    timers: list[tuple[float, int, int, int]] = []  # (due, order, message, client) delayed sends
    order = 0
    room = [MAX_RECEIVED_BYTES]
    start = time.monotonic()
    deadline = min(start + plan.budget, stop_at if stop_at is not None else float("inf"))
    try:
        while True:
            now = time.monotonic() - start
            for send in machine.poll(now):
                fate = (
                    first_fates[send.request.index]
                    if send.attempt == 0
                    else plan.schedule.fate(send.request.index, send.attempt)
                )
                for emission in pipe.push(fate):
                    heapq.heappush(
                        timers, (now + emission.delay, order, emission.message, by_index[emission.message].client)
                    )
                    order += 1
            finished = machine.finished(now)  # sending below leaves the machine as it is
            if finished:
                for emission in pipe.flush():
                    heapq.heappush(
                        timers, (now + emission.delay, order, emission.message, by_index[emission.message].client)
                    )
                    order += 1
            while timers and timers[0][0] <= now:
                _, _, message, client = heapq.heappop(timers)
                _send_quietly(sockets[client], by_index[message].payload, target)
            if finished and not timers:
                break
            if time.monotonic() >= deadline:
                break
            wakeups = [t for t in (machine.next_wakeup(now), timers[0][0] if timers else None) if t is not None]
            wait = max(0.0, min(wakeups) - now) if wakeups else 0.05
            wait = min(wait, deadline - time.monotonic())
            for key, _ in selector.select(max(0.0, wait)):
                _drain(key.fileobj, key.data, machine, start, target, room)
    finally:
        selector.close()
        for sock in sockets:
            sock.close()


def _udp_socket(target: Address, make_socket: SocketFactory) -> socket.socket:
    """A fresh ephemeral source port per check, bound to the one address that routes to target."""
    with make_socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(target)  # sends nothing: only asks the kernel which source it would use
        source = probe.getsockname()[0]
    sock = make_socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    return sock


def _send_quietly(sock: socket.socket, payload: bytes, target: Address) -> None:
    try:
        sock.sendto(payload, target)
    except OSError:
        pass  # ICMP errors from an earlier send surface here; the missing reply tells the story


def _drain(sock, client: int, machine: UdpClientMachine, start: float, target: Address, room: list[int]) -> None:
    """Read what arrived; `room` is the bytes this check may still keep (a one-item list, spent here)."""
    for _ in range(256):
        try:
            data, source = sock.recvfrom(MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # ECONNREFUSED from an ICMP port unreachable: nothing to read
        if len(machine.received) < MAX_RECEIVED and len(data) <= room[0]:
            room[0] -= len(data)
            machine.receive(client, data, time.monotonic() - start, None if _same_socket(source, target) else source)


def _same_socket(source: Address, target: Address) -> bool:
    """Whether a reply came from the socket the request went to.

    Its port must match. Its address may be any loopback address when the target is one:
    a server bound to '' answers a request sent to 127.0.0.2 from 127.0.0.1, the kernel's
    preferred source on loopback, and both are that one host's own addresses.
    """
    if source[1] != target[1]:
        return False
    return source[0] == target[0] or (source[0].startswith("127.") and target[0].startswith("127."))


def play_tcp(
    machine: StreamClient,
    target: Address,
    unread: Unread | None = None,
    make_socket: SocketFactory = socket.socket,
    released: Released | None = None,
    watch_stuck: StuckWatch | None = None,
) -> None:
    """Play a scripted TCP client machine against `target` until it is done.

    Every decision is the machine's, its time limits included; this only does what it asks
    on real sockets. `unread(port)` tells how much of what our socket on `port` sent the
    server has not read yet, for a machine that asks (AskUnread). `released(port)` tells
    whether the server has let go of its end of that connection: a close the machine asks
    as FIN is done with RST when the server closed first and holds the socket no more,
    which nothing of the server can see, and which spares its side TIME_WAIT. `watch_stuck`
    lets a Read(until_stuck) end as soon as the server is seen blocked forever.
    """
    link = _TcpLink(target, make_socket, unread, time.monotonic(), released, watch_stuck)
    try:
        action = machine.start(link.clock())
        while not isinstance(action, Done):  # the machine bounds every wait and every loop
            action = machine.handle(link.perform(action))
    finally:
        link.close()


class _TcpLink:
    """The machine's connections as real sockets: each action done as asked, its outcome told back."""

    def __init__(
        self,
        target: Address,
        make_socket: SocketFactory,
        unread: Unread | None,
        start: float,
        released: Released | None = None,
        watch_stuck: StuckWatch | None = None,
    ):
        self.target = target
        self.make_socket = make_socket
        self.unread = unread
        self.released = released
        self.watch_stuck = watch_stuck
        self.start = start
        self.sockets: dict[int, socket.socket] = {}

    def clock(self) -> float:
        return time.monotonic() - self.start

    def perform(self, action: Action) -> Event:
        match action:
            case Connect(conn, timeout, nodelay):
                return self._connect(conn, timeout, nodelay)
            case Send(conn, data, timeout):
                try:
                    self.sockets[conn].settimeout(timeout)
                    self.sockets[conn].sendall(data)
                except OSError as exc:
                    return Error(conn, _describe_error(exc), self.clock())
                return Sent(conn, self.clock())
            case AskUnread(conn):
                if self.unread is None:
                    raise ValueError("the machine asked for unread bytes, and play_tcp was given no way to tell")
                sock = self.sockets[conn]
                count = self.unread(sock.getsockname()[1])
                if count is None and self._dead(sock):
                    return NeverRead(conn, self.clock())
                return UnreadBytes(conn, count, self.clock())
            case Pause(seconds):
                time.sleep(seconds)
                return Tick(self.clock())
            case HalfClose(conn):
                try:
                    self.sockets[conn].shutdown(socket.SHUT_WR)
                except OSError as exc:
                    return Error(conn, _describe_error(exc), self.clock())
                return Sent(conn, self.clock())
            case Read(conn, timeout, until_stuck):
                lookout = self.watch_stuck() if until_stuck and self.watch_stuck is not None else None
                if lookout is not None:
                    return self._read_until_stuck(conn, timeout, lookout)
                return self._read(conn, timeout)
            case Close(conn, rst):
                sock = self.sockets.pop(conn)
                if rst or self._let_go(sock):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                return Tick(self.clock())
        raise ValueError(f"no socket operation for {action}")

    def _connect(self, conn: int, timeout: float, nodelay: bool) -> Event:
        sock = self.make_socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self.target)
            if nodelay:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            return ConnectFailed(conn, _describe_error(exc), self.clock())
        self.sockets[conn] = sock
        return Connected(conn, self.clock())

    def _dead(self, sock: socket.socket) -> bool:
        """Nothing of the server can read from this connection any more: it was reset, or closed and let go of.

        Our side's state says which: CLOSE after an RST, CLOSE_WAIT once the server's FIN came
        (a server that only shut down its writing could still read: then it must hold its end).
        """
        state = tcp_state(sock)
        return state == TCP_CLOSE or (
            state == TCP_CLOSE_WAIT and self.released is not None and self.released(sock.getsockname()[1])
        )

    def _let_go(self, sock: socket.socket) -> bool:
        """The server closed first (its EOF waits unread here) and holds its end no more."""
        if self.released is None:
            return False
        try:
            sock.settimeout(0)
            closed = sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return False  # nothing yet (the server has not closed), or already reset
        return closed and self.released(sock.getsockname()[1])

    def _read(self, conn: int, timeout: float) -> Event:
        sock = self.sockets[conn]
        try:
            sock.settimeout(timeout)
            chunk = sock.recv(RECV_SIZE)
        except TimeoutError:
            return TimedOut(conn, self.clock())
        except OSError as exc:
            return Error(conn, _describe_error(exc), self.clock())
        return Received(conn, chunk, self.clock()) if chunk else Eof(conn, self.clock())

    def _read_until_stuck(self, conn: int, timeout: float, stuck: Callable[[float], str | None]) -> Event:
        """`_read`, in slices of STUCK_PROBE with a look at the server after each one that brought nothing."""
        end = time.monotonic() + timeout
        for _ in range(int(timeout / STUCK_PROBE) + 1):  # bounded in count too, whatever the clock does
            now = time.monotonic()
            event = self._read(conn, max(0.001, min(STUCK_PROBE, end - now)))
            if not isinstance(event, TimedOut) or time.monotonic() >= end:
                return event
            if (how := stuck(time.monotonic())) is not None:
                return Stuck(conn, how, self.clock())
        return TimedOut(conn, self.clock())

    def close(self) -> None:
        """Whatever the machine did not close itself (it stopped on an exception)."""
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()


TCP_CLOSE = 7  # the kernel's TCP states (include/net/tcp_states.h)
TCP_CLOSE_WAIT = 8


def tcp_state(sock: socket.socket) -> int | None:
    """The kernel's state of our TCP socket (the first byte of TCP_INFO); None where it cannot tell."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except (OSError, AttributeError):
        return None


def _describe_error(exc: OSError) -> str:
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listening)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc)
