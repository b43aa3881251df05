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

from grader.impair import DatagramPipe, Ending, StreamPlan
from grader.scenarios.common import same_reply
from grader.scenarios.tcp_server import ConnectionRecord, TcpPlan

if TYPE_CHECKING:
    from grader.scenarios.udp_exchange import UdpClientMachine

Address = tuple[str, int]
MAX_DATAGRAM = 65535
MAX_REPLY = 1 << 20  # a server that streams endlessly is cut off here
MAX_RECEIVED = 5000  # datagrams kept per check; a flooding server cannot grow memory
MAX_RECEIVED_BYTES = 8 << 20  # and their bytes: 5000 datagrams of 64 KiB would be 320 MiB
STOPPED = "stopped: a time limit of the grading ran out"
READ_WAIT = 0.5  # seconds a slice may wait to be read before the next is sent anyway

Unread = Callable[[int], "int | None"]
SocketFactory = Callable[[int, int], socket.socket]  # where the grader's sockets are made: see sandbox.netns


def play_udp(machine: UdpClientMachine, target: Address, stop_at: float | None = None,
             make_socket: SocketFactory = socket.socket) -> None:
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
                fate = (first_fates[send.request.index] if send.attempt == 0
                        else plan.schedule.fate(send.request.index, send.attempt))
                for emission in pipe.push(fate):
                    heapq.heappush(timers, (now + emission.delay, order, emission.message, by_index[emission.message].client))
                    order += 1
            finished = machine.finished(now)  # sending below leaves the machine as it is
            if finished:
                for emission in pipe.flush():
                    heapq.heappush(timers, (now + emission.delay, order, emission.message, by_index[emission.message].client))
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


def play_tcp(plan: TcpPlan, target: Address, stop_at: float | None = None,
             unread: Unread | None = None, make_socket: SocketFactory = socket.socket) -> list[ConnectionRecord]:
    """Play the connections in the plan's order; each wait is bounded by the plan's timeouts and by `stop_at`.

    `unread(port)` tells how much of what our socket on `port` sent the server has not
    read yet; with it, a sliced request waits (briefly) for each slice to be read before
    the next, so a busy machine cannot merge the slices and change the verdict.
    """
    start = time.monotonic()
    clock = _Clock(start, stop_at, unread, make_socket)
    records = [ConnectionRecord(c) for c in plan.connections]
    sockets: dict[int, socket.socket] = {}
    try:
        if plan.overlapping:
            for record in records:
                sockets[record.plan.index] = _connect(record, target, clock, plan.reply_timeout)
        for record in records:
            if record.plan.stream is None:
                continue
            sock = sockets.get(record.plan.index) or _connect(record, target, clock, plan.reply_timeout)
            sockets[record.plan.index] = sock
            if sock is not None:
                _exchange(sock, record, plan, clock)
                _close(sock, record)
        if plan.probe is not None:
            probe = ConnectionRecord(plan.probe, notes=["(probe: is the server still serving?)"])
            records.append(probe)
            sock = _connect(probe, target, clock, plan.reply_timeout)
            if sock is not None:
                _exchange(sock, probe, plan, clock)
                _close(sock, probe)
    finally:
        for sock in sockets.values():
            if sock is not None:
                sock.close()
    return records


class _Clock:
    """Seconds since the exchange began, and how much of a wait the caller's time limit still allows."""

    def __init__(self, start: float, stop_at: float | None, unread: Unread | None = None,
                 make_socket: SocketFactory = socket.socket):
        self.start = start
        self.stop_at = stop_at
        self.unread = unread
        self.make_socket = make_socket

    def __call__(self) -> float:
        return time.monotonic() - self.start

    def cap(self, seconds: float) -> float:
        if self.stop_at is None:
            return seconds
        return max(0.0, min(seconds, self.stop_at - time.monotonic()))

    @property
    def stopped(self) -> bool:
        return self.stop_at is not None and time.monotonic() >= self.stop_at


def _connect(record: ConnectionRecord, target: Address, clock: _Clock, timeout: float) -> socket.socket | None:
    timeout = clock.cap(timeout)
    if timeout <= 0:
        record.connect_error = STOPPED
        return None
    sock = clock.make_socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(target)
        return sock
    except OSError as exc:
        sock.close()
        record.connect_error = _describe_error(exc)
        return None


def _exchange(sock: socket.socket, record: ConnectionRecord, plan: TcpPlan, clock: _Clock) -> None:
    stream: StreamPlan = record.plan.stream  # type: ignore[assignment]
    if stream.nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for write in stream.writes:
            if write.pause_before:
                _await_read(sock, clock)
                time.sleep(clock.cap(write.pause_before))  # the pause *is* the scenario: a slow writer
            if clock.stopped:
                record.error = STOPPED
                return
            sock.settimeout(clock.cap(plan.reply_timeout))  # a server that never reads fills its window
            sock.sendall(write.data)
        if stream.ending is Ending.RESET:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if stream.ending is Ending.HALF_CLOSE:
            sock.shutdown(socket.SHUT_WR)
    except OSError as exc:
        record.error = f"while sending: {_describe_error(exc)}"
        return
    _read_reply(sock, record, plan, clock)


def _await_read(sock: socket.socket, clock: _Clock) -> None:
    """Until the server has read all we sent, or READ_WAIT: one that reads nothing is not waited for long."""
    if clock.unread is None:
        return
    port = sock.getsockname()[1]
    until = time.monotonic() + clock.cap(READ_WAIT)
    while clock.unread(port) != 0 and time.monotonic() < until:
        time.sleep(0.005)


def _read_reply(sock: socket.socket, record: ConnectionRecord, plan: TcpPlan, clock: _Clock) -> None:
    expected = record.plan.expected
    deadline = clock() + plan.reply_timeout
    while len(record.reply) < MAX_REPLY:
        if clock.stopped:
            record.error = record.error or STOPPED
            return
        remaining = clock.cap(deadline - clock())
        if remaining <= 0:
            record.error = record.error or f"the exchange timeout ({plan.reply_timeout:.1f}s) ran out"
            return
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError as exc:
            record.error = _describe_error(exc)
            return
        if not chunk:
            record.closed_at = clock()
            return
        record.reply += chunk
        if expected is not None and record.replied_at is None and same_reply(record.reply, expected):
            record.replied_at = clock()
            if not plan.expect_close:
                return
            deadline = clock() + plan.close_timeout  # now wait for the server's EOF


def _close(sock: socket.socket, record: ConnectionRecord) -> None:
    """Close; when the server closed first, with RST, so its side skips TIME_WAIT.

    A server without SO_REUSEADDR (the textbook's) could not be restarted on its port for a
    minute otherwise. Before the server's EOF a plain close is used: an RST then could
    crash a server that is still reading.
    """
    if record.closed_at is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _describe_error(exc: OSError) -> str:
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listening)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc)


