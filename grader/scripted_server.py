"""The trusted scripted server the grader runs against a student's *client*.

Run as a plain file (``python3 -u scripted_server.py ARGS``), in the runtime image's bare
Python 3.11: standard library only, and nothing from the ``grader`` package. The grader may
still import this module for its pure helpers: ``uppercase``, ``parse_events``,
``decode_data``.

CLI::

    --transport udp|tcp   --host 0.0.0.0   --port 12000   --behaviour NAME
    --delay 0.8  (reply_late)   --pieces 3 --pause 0.15  (TCP slices)
    --lifetime 30  (always exits by itself)   --max-events 200
    --fd N [--other-fd M]  (sockets made by the grader, inherited: see below)

Behaviours, the server side of each client scenario:

UDP
    ``normal``       reply to every datagram, to its sender
    ``drop_first``   ignore the first datagram (logged, never answered), answer later ones
    ``reply_twice``  send each reply twice
    ``reply_late``   reply ``--delay`` s later, from a timer heap: other datagrams are still
                     served meanwhile (at most 256 late replies pending; beyond that a
                     datagram is logged but not answered)
    ``wrong_port``   reply only from a second socket on another (ephemeral) port
    ``silent``       receive, never reply
TCP (one request per connection, like the textbook server)
    The request is complete at a newline, at the client's half-close, or after 0.3 s of quiet
    following some data (textbook clients send one line without newline and wait).
    ``normal``               reply (upper-cased request), then close
    ``slices``               TCP_NODELAY; the reply in ``--pieces`` slices, ``--pause`` apart
    ``silent``               read, never reply; close only after the client closes (or at exit)
    ``close_without_reply``  read the request, close without replying
    ``reply_late``           reply ``--delay`` s after the request is complete, then close
    "Close" is a graceful one: shutdown(SHUT_WR) (the client sees EOF, not a reset), then the
    server keeps reading for at most 1 s or until the client's EOF before releasing the socket.

Events: one JSON object per line on stdout, flushed. ``t`` is seconds since start
(monotonic, ms). ``data`` is base64; ``size`` is the byte count on the wire.

    {"event": "ready", "t", "transport", "port", "behaviour"}       once bound (real port)
    {"event": "datagram", "t", "peer": "ip:port", "size", "data"}
    {"event": "reply", "t", "peer", "size", "data", "from_port"}     UDP
    {"event": "connect", "t", "conn", "peer"}                        TCP, conn counts from 0
    {"event": "data", "t", "conn", "size", "total", "data"}          one per recv; data keeps
                          only what fits the 64 KiB kept per connection, total = bytes so far
    {"event": "eof", "t", "conn", "total"}                           the client half-closed/closed
    {"event": "reset", "t", "conn"}                                  reset/broken pipe
    {"event": "reply", "t", "conn", "size", "data"[, "piece"]}       "piece" (0-based) for slices
    {"event": "close", "t", "conn"}                                  the server ended its side;
                          exactly once per connection, unless the server exits first
    {"event": "error", "t", "message"[, "peer"]}                     bind or send failure
    {"event": "end", "t", "reason": "lifetime"|"signal"|"max-events"|"error"}   at exit
    {"event": "quiet", "t"}   uncounted: nothing is scheduled (no timer, nothing left to send),
                          so the server acts again only when the client does; written once
                          after each event, and left out by ``parse_events`` (it is not part
                          of the exchange: the grader reads it to tell a client that waits
                          forever, see grader.sandbox.blocked)

Sockets: by default the server makes its own. With ``--fd N`` it binds the inherited,
unbound socket N instead (and ``--other-fd M`` for ``wrong_port``'s second socket): the
grader makes them inside a client container's loopback-only network namespace, so this
process can run on the grading machine and still serve 127.0.0.1:12000 in there.

Bounds: ``--max-events`` counts every event except ``ready`` and ``end``. Choice: when one
more event would exceed it, that event is not written and the server *exits* at once with
``end`` reason ``max-events`` (exit status 0). So the log holds at most max-events + 2 lines,
and the action behind the unwritten event (e.g. a reply) may have happened unlogged; with the
``quiet`` lines, at most 2 * max-events + 3 lines. At most
16 TCP connections are served at once; extra ones are accepted, logged (connect, close) and
closed at once. Every read is bounded (64 KiB per recv, 64 datagrams or accepts per wake-up).
SIGTERM/SIGINT: write ``end`` (reason ``signal``) and exit 0. A failed bind: an ``error``
event, a message on stderr, exit 1, no ``ready``.
"""

from __future__ import annotations

import argparse
import base64
import heapq
import itertools
import json
import selectors
import signal
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

UDP_BEHAVIOURS = ("normal", "drop_first", "reply_twice", "reply_late", "wrong_port", "silent")
TCP_BEHAVIOURS = ("normal", "slices", "silent", "close_without_reply", "reply_late")

MAX_DATAGRAM = 65535
RECV_CHUNK = 65536
KEEP_PER_CONN = 64 * 1024  # request bytes kept (and logged) per TCP connection
QUIET = 0.3  # s of quiet after data that completes a TCP request
QUIET_EVENT = "quiet"
LINGER = 1.0  # s the server keeps draining after its FIN before releasing the socket
MAX_CONNS = 16
MAX_LATE = 256  # UDP late replies pending at once
BATCH = 64  # datagrams or accepts handled per wake-up
MAX_DRAINED = 1000  # datagrams read and dropped from the wrong-port socket in all


def uppercase(data: bytes) -> bytes:
    """The server's transformation: UTF-8 upper-casing; non-UTF-8 bytes pass through."""
    return data.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")


def parse_events(text: str) -> list[dict[str, Any]]:
    """The event objects in `text` (e.g. a container's log), in order; other lines are ignored."""
    events = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("event"), str) and obj["event"] != QUIET_EVENT:
            events.append(obj)
    return events


def decode_data(event: dict[str, Any]) -> bytes:
    """The bytes carried by an event's base64 ``data`` field (b"" when it has none)."""
    data = event.get("data")
    if not data:
        return b""
    return base64.b64decode(data, validate=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _peer(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventLog:
    """JSON lines on a stream; at most `max_events` counted events."""

    def __init__(self, stream: TextIO, start: float, max_events: int) -> None:
        self.stream = stream
        self.start = start
        self.max_events = max_events
        self.count = 0
        self.quiet_written = False

    def now(self) -> float:
        return round(time.monotonic() - self.start, 3)

    def write(self, event: str, **fields: Any) -> None:
        """Write one event, uncounted (ready, end, error at startup)."""
        line = json.dumps({"event": event, "t": self.now(), **fields})
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # nobody reads the log any more: nothing left to do
            raise _Stop("stdout") from None
        self.quiet_written = event == QUIET_EVENT

    def quiet(self) -> None:
        """Say once, until the next event, that nothing is scheduled."""
        if not self.quiet_written:
            self.write(QUIET_EVENT)

    def emit(self, event: str, **fields: Any) -> None:
        """Write one counted event, or stop the server when the budget is spent."""
        if self.count >= self.max_events:
            raise _Stop("max-events")
        self.count += 1
        self.write(event, **fields)


class Loop:
    """A single-threaded select loop with a timer heap."""

    def __init__(self) -> None:
        self.on_idle: Callable[[], None] = lambda: None  # called before each sleep with no timer pending
        self.sel = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.order = itertools.count()
        self.stop_reason: str | None = None

    def after(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self.order), fn, args))

    def run(self, deadline: float) -> None:
        while True:
            if self.stop_reason:
                raise _Stop(self.stop_reason)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn, args = heapq.heappop(self.timers)
                fn(*args)
            if now >= deadline:
                raise _Stop("lifetime")
            timeout = deadline - now
            if self.timers:
                timeout = min(timeout, self.timers[0][0] - now)
            else:
                self.on_idle()
            for key, mask in self.sel.select(max(timeout, 0.0)):
                key.data(mask)

    def close(self) -> None:
        for key in list(self.sel.get_map().values()):
            try:
                key.fileobj.close()  # type: ignore[union-attr]
            except OSError:
                pass
        self.sel.close()


class UdpServer:
    def __init__(self, opts: argparse.Namespace, log: EventLog, loop: Loop) -> None:
        self.opts = opts
        self.log = log
        self.loop = loop
        self.behaviour = opts.behaviour
        self.seen = 0
        self.late_pending = 0
        self.sock: socket.socket | None = None
        self.reply_sock: socket.socket | None = None
        self.drained = 0
        self.port = 0

    def sending(self) -> bool:
        return False  # a datagram is sent whole, at once

    def bind(self) -> None:
        sock = _socket(socket.SOCK_DGRAM, self.opts.fd)
        try:
            sock.bind((self.opts.host, self.opts.port))
            sock.setblocking(False)
            self.reply_sock = sock
            if self.behaviour == "wrong_port":
                other = _socket(socket.SOCK_DGRAM, self.opts.other_fd)
                try:
                    other.bind((self.opts.host, 0))
                    other.setblocking(False)
                except OSError:
                    other.close()
                    raise
                self.reply_sock = other
                self.loop.sel.register(other, selectors.EVENT_READ, self._drain_other)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.loop.sel.register(sock, selectors.EVENT_READ, self._on_readable)

    def _drain_other(self, mask: int) -> None:
        """Anything sent to the wrong-port socket is read and dropped; after MAX_DRAINED, left to the kernel to drop."""
        assert self.reply_sock is not None
        for _ in range(BATCH):
            if self.drained >= MAX_DRAINED:
                self.loop.sel.unregister(self.reply_sock)  # a flood costs the grader nothing more
                return
            self.drained += 1
            try:
                self.reply_sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                continue

    def _on_readable(self, mask: int) -> None:
        assert self.sock is not None
        for _ in range(BATCH):
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:  # e.g. an ICMP error surfaced on the socket
                continue
            self._on_datagram(data, addr)

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        self.seen += 1
        self.log.emit("datagram", peer=_peer(addr), size=len(data), data=_b64(data))
        if self.behaviour == "silent" or (self.behaviour == "drop_first" and self.seen == 1):
            return
        reply = uppercase(data)
        if self.behaviour == "reply_late":
            if self.late_pending < MAX_LATE:
                self.late_pending += 1
                self.loop.after(self.opts.delay, self._late_reply, reply, addr)
            return
        self._send(reply, addr)
        if self.behaviour == "reply_twice":
            self._send(reply, addr)

    def _late_reply(self, reply: bytes, addr: Any) -> None:
        self.late_pending -= 1
        self._send(reply, addr)

    def _send(self, reply: bytes, addr: Any) -> None:
        assert self.reply_sock is not None
        try:
            self.reply_sock.sendto(reply, addr)
        except OSError as exc:
            self.log.emit("error", peer=_peer(addr), message=f"sendto: {exc}")
            return
        from_port = self.reply_sock.getsockname()[1]
        self.log.emit("reply", peer=_peer(addr), size=len(reply), data=_b64(reply), from_port=from_port)


class Conn:
    def __init__(self, ident: int, sock: socket.socket, peer: str) -> None:
        self.id = ident
        self.sock = sock
        self.peer = peer
        self.request = bytearray()  # at most KEEP_PER_CONN bytes
        self.total = 0
        self.last_data = 0.0
        self.quiet_armed = False
        self.complete = False  # the request is complete: the behaviour has been started
        self.eof = False  # the client half-closed or closed
        self.ours_closed = False  # the server sent its FIN (or gave up on the connection)
        self.finished = False  # the socket is released
        self.pieces: deque[bytes] = deque()
        self.piece_index = 0
        self.out = bytearray()
        self.out_event: dict[str, Any] | None = None
        self.mask = 0


class TcpServer:
    def __init__(self, opts: argparse.Namespace, log: EventLog, loop: Loop) -> None:
        self.opts = opts
        self.log = log
        self.loop = loop
        self.behaviour = opts.behaviour
        self.ids = itertools.count()
        self.active: dict[int, Conn] = {}
        self.listener: socket.socket | None = None
        self.port = 0

    def bind(self) -> None:
        sock = _socket(socket.SOCK_STREAM, self.opts.fd)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.opts.host, self.opts.port))
            sock.listen(MAX_CONNS)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.listener = sock
        self.port = sock.getsockname()[1]
        self.loop.sel.register(sock, selectors.EVENT_READ, self._on_accept)

    def close(self) -> None:
        for conn in list(self.active.values()):
            self._release(conn)

    def sending(self) -> bool:
        """Bytes of a reply wait for room in a socket's buffer."""
        return any(conn.out for conn in self.active.values())

    # -- accepting -------------------------------------------------------------------------

    def _on_accept(self, mask: int) -> None:
        assert self.listener is not None
        for _ in range(BATCH):
            try:
                sock, addr = self.listener.accept()
            except BlockingIOError:
                return
            except OSError:  # e.g. ECONNABORTED
                continue
            ident = next(self.ids)
            if len(self.active) >= MAX_CONNS:
                sock.close()
                self.log.emit("connect", conn=ident, peer=_peer(addr))
                self.log.emit("close", conn=ident)
                continue
            sock.setblocking(False)
            if self.behaviour == "slices":
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            conn = Conn(ident, sock, _peer(addr))
            self.active[ident] = conn
            self._interest(conn)
            self.log.emit("connect", conn=ident, peer=conn.peer)

    def _interest(self, conn: Conn) -> None:
        if conn.finished:
            return
        mask = (0 if conn.eof else selectors.EVENT_READ) | (selectors.EVENT_WRITE if conn.out else 0)
        if mask == conn.mask:
            return
        if conn.mask == 0:
            self.loop.sel.register(conn.sock, mask, lambda m, c=conn: self._on_ready(c, m))
        elif mask == 0:
            self.loop.sel.unregister(conn.sock)
        else:
            self.loop.sel.modify(conn.sock, mask, lambda m, c=conn: self._on_ready(c, m))
        conn.mask = mask

    def _on_ready(self, conn: Conn, mask: int) -> None:
        if mask & selectors.EVENT_READ and not conn.finished:
            self._read(conn)
        if mask & selectors.EVENT_WRITE and not conn.finished and conn.out:
            self._flush(conn)

    # -- reading ---------------------------------------------------------------------------

    def _read(self, conn: Conn) -> None:
        try:
            chunk = conn.sock.recv(RECV_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._reset(conn)
            return
        if not chunk:
            conn.eof = True
            self._interest(conn)
            self.log.emit("eof", conn=conn.id, total=conn.total)
            self._on_eof(conn)
            return
        conn.total += len(chunk)
        kept = chunk[: max(0, KEEP_PER_CONN - len(conn.request))]
        conn.request += kept
        self.log.emit("data", conn=conn.id, size=len(chunk), total=conn.total, data=_b64(kept))
        if conn.complete or conn.ours_closed:
            return
        if b"\n" in chunk:
            self._complete(conn)
        else:
            conn.last_data = time.monotonic()
            if not conn.quiet_armed:
                conn.quiet_armed = True
                self.loop.after(QUIET, self._quiet, conn)

    def _quiet(self, conn: Conn) -> None:
        conn.quiet_armed = False
        if conn.finished or conn.complete or conn.ours_closed:
            return
        left = conn.last_data + QUIET - time.monotonic()
        if left > 0:
            conn.quiet_armed = True
            self.loop.after(left, self._quiet, conn)
        else:
            self._complete(conn)

    def _on_eof(self, conn: Conn) -> None:
        if conn.ours_closed:
            self._release(conn)
            return
        if not conn.complete:
            self._complete(conn)
        if self.behaviour == "silent":
            self._close_ours(conn)

    # -- the behaviour ---------------------------------------------------------------------

    def _complete(self, conn: Conn) -> None:
        conn.complete = True
        if self.behaviour == "silent":
            return
        if self.behaviour == "close_without_reply":
            self._close_ours(conn)
        elif self.behaviour == "reply_late":
            self.loop.after(self.opts.delay, self._start_reply, conn)
        else:
            self._start_reply(conn)

    def _start_reply(self, conn: Conn) -> None:
        if conn.finished or conn.ours_closed:
            return
        reply = uppercase(bytes(conn.request))
        count = self.opts.pieces if self.behaviour == "slices" else 1
        conn.pieces = deque(_split(reply, count))
        self._next_piece(conn)

    def _next_piece(self, conn: Conn) -> None:
        if conn.finished or conn.ours_closed:
            return
        if not conn.pieces:
            self._close_ours(conn)
            return
        piece = conn.pieces.popleft()
        conn.out = bytearray(piece)
        conn.out_event = {"conn": conn.id, "size": len(piece), "data": _b64(piece)}
        if self.behaviour == "slices":
            conn.out_event["piece"] = conn.piece_index
        conn.piece_index += 1
        self._flush(conn)

    def _flush(self, conn: Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._reset(conn)
            return
        del conn.out[:sent]
        self._interest(conn)
        if conn.out:
            return
        event, conn.out_event = conn.out_event, None
        if event is not None:
            self.log.emit("reply", **event)
        if conn.pieces and self.behaviour == "slices":
            self.loop.after(self.opts.pause, self._next_piece, conn)
        else:
            self._next_piece(conn)

    # -- closing ---------------------------------------------------------------------------

    def _close_ours(self, conn: Conn) -> None:
        """Graceful close: FIN now, keep draining until the client's EOF or LINGER s."""
        if conn.ours_closed or conn.finished:
            return
        conn.ours_closed = True
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if conn.eof:
            self._release(conn)
        else:
            self.loop.after(LINGER, self._release, conn)
        self.log.emit("close", conn=conn.id)

    def _reset(self, conn: Conn) -> None:
        already_closed = conn.ours_closed
        conn.ours_closed = True
        self._release(conn)
        self.log.emit("reset", conn=conn.id)
        if not already_closed:
            self.log.emit("close", conn=conn.id)

    def _release(self, conn: Conn) -> None:
        if conn.finished:
            return
        conn.finished = True
        if conn.mask:
            try:
                self.loop.sel.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.mask = 0
        try:
            conn.sock.close()
        except OSError:
            pass
        self.active.pop(conn.id, None)


def _socket(kind: int, fd: int | None) -> socket.socket:
    """A new IPv4 socket, or the inherited one the grader made where this server must listen."""
    if fd is None:
        return socket.socket(socket.AF_INET, kind)
    return socket.socket(socket.AF_INET, kind, fileno=fd)


def _split(data: bytes, count: int) -> list[bytes]:
    """`data` in at most `count` non-empty, near-equal slices ([] for no data)."""
    count = max(1, min(count, len(data)))
    size, extra = divmod(len(data), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            pieces.append(data[start:end])
        start = end
    return pieces


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Scripted UDP/TCP uppercase server for grading clients.")
    parser.add_argument("--transport", choices=("udp", "tcp"), required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=12000)
    parser.add_argument(
        "--behaviour", default="normal", help=f"udp: {', '.join(UDP_BEHAVIOURS)}; tcp: {', '.join(TCP_BEHAVIOURS)}"
    )
    parser.add_argument("--delay", type=_non_negative, default=0.8, help="s before a late reply")
    parser.add_argument("--pieces", type=int, default=3, help="slices of a TCP reply (slices)")
    parser.add_argument("--pause", type=_non_negative, default=0.15, help="s between slices")
    parser.add_argument("--lifetime", type=_positive, default=30.0, help="s before exiting by itself")
    parser.add_argument("--max-events", type=_count, default=200, help="events logged before exiting")
    parser.add_argument("--fd", type=int, default=None, help="inherited unbound socket to serve on")
    parser.add_argument("--other-fd", type=int, default=None, help="inherited socket for wrong_port's replies")
    opts = parser.parse_args(argv)
    allowed = UDP_BEHAVIOURS if opts.transport == "udp" else TCP_BEHAVIOURS
    if opts.behaviour not in allowed:
        parser.error(f"--behaviour for {opts.transport} must be one of: {', '.join(allowed)}")
    if opts.pieces < 1:
        parser.error("--pieces must be >= 1")
    if not 0 <= opts.port <= 65535:
        parser.error("--port must be in 0..65535")
    return opts


def main(argv: list[str] | None = None, stream: TextIO | None = None) -> int:
    """The script: serve until the lifetime ends, the event budget is spent, or SIGTERM/SIGINT."""
    opts = parse_args(argv)
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)  # a signal writes to wake_r's pair
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: None)
    try:
        return serve(opts, stream or sys.stdout, wake_r)
    finally:
        signal.set_wakeup_fd(-1)
        wake_w.close()


def serve(opts: argparse.Namespace, stream: TextIO, stop: socket.socket) -> int:
    """Serve as `opts` say, writing events to `stream`, until anything arrives on `stop` (or the lifetime ends).

    The grader runs it in a thread of its own (grader.scenarios.scripted_peer), the script
    in a process of its own; `stop` is closed when it returns.
    """
    start = time.monotonic()
    log = EventLog(stream, start, opts.max_events)
    loop = Loop()
    server: UdpServer | TcpServer = (UdpServer if opts.transport == "udp" else TcpServer)(opts, log, loop)
    loop.on_idle = lambda: None if server.sending() else log.quiet()
    try:
        server.bind()
    except OSError as exc:
        message = f"cannot bind {opts.transport} {opts.host}:{opts.port}: {exc}"
        print(f"scripted_server: {message}", file=sys.stderr)
        try:
            log.write("error", message=message)
        except _Stop:
            pass
        loop.close()
        stop.close()
        return 1

    def _stopped(mask: int) -> None:
        loop.stop_reason = "signal"

    stop.setblocking(False)
    loop.sel.register(stop, selectors.EVENT_READ, _stopped)  # closed by loop.close()
    status = 0
    try:
        log.write("ready", transport=opts.transport, port=server.port, behaviour=opts.behaviour)
        loop.run(start + opts.lifetime)
        reason = "lifetime"
    except _Stop as stopped:
        reason = stopped.reason
    except Exception:
        traceback.print_exc(file=sys.stderr)
        reason, status = "error", 1
    finally:
        if isinstance(server, TcpServer):
            server.close()
        loop.close()
    if reason != "stdout":
        try:
            log.write("end", reason=reason)
        except _Stop:
            pass
    return status


if __name__ == "__main__":
    sys.exit(main())
