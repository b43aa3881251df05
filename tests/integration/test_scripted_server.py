"""The scripted server, run as the grader runs it: a plain-file subprocess on 127.0.0.1.

Each test starts grader/scripted_server.py with --port 0 (the `ready` event reports the real
port, so parallel runs never collide), plays a client with plain sockets, stops the server
and reads its event log. Every wait is bounded.
"""

from __future__ import annotations

import ast
import itertools
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.scripted_server import decode_data, parse_events, uppercase

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "grader" / "scripted_server.py"
HOST = "127.0.0.1"
STARTUP = 5.0  # s to wait for `ready`
EXIT = 5.0  # s to wait for the process to exit


class Scripted:
    """One scripted-server process; its stdout lines are collected by a reader thread."""

    def __init__(self, transport: str, behaviour: str, *extra: str, lifetime: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-u",
                str(SCRIPT),
                "--transport",
                transport,
                "--behaviour",
                behaviour,
                "--host",
                HOST,
                "--port",
                "0",
                "--lifetime",
                str(lifetime),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO.parent,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self.wait_for("ready", STARTUP)
        self.port: int = ready["port"]
        self.addr = (HOST, self.port)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, event: str, timeout: float) -> dict:
        """The next `event` line, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            found = [e for e in parse_events(line) if e["event"] == event]
            if found:
                return found[0]
        self.kill()
        pytest.fail(f"no {event!r} event within {timeout}s; log: {''.join(self.lines)!r}")

    def stop(self) -> list[dict]:
        """SIGTERM, wait for the exit, return every event."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.finish()

    def finish(self, timeout: float = EXIT) -> list[dict]:
        """Wait for the process to exit by itself; return every event."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("the scripted server did not exit in time")
        self._reader.join(timeout=EXIT)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return parse_events("".join(self.lines))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=EXIT)


@pytest.fixture
def servers():
    started: list[Scripted] = []

    def start(*args, **kwargs) -> Scripted:
        server = Scripted(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def udp_client(timeout: float = 2.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.bind((HOST, 0))
    return sock


def tcp_client(addr, timeout: float = 3.0) -> socket.socket:
    return socket.create_connection(addr, timeout=timeout)


def recv_all(sock: socket.socket, limit: int = 1 << 20) -> tuple[list[bytes], bool]:
    """Chunks until EOF (True) or timeout (False)."""
    chunks: list[bytes] = []
    while sum(map(len, chunks)) < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return chunks, False
        if not chunk:
            return chunks, True
        chunks.append(chunk)
    return chunks, False


def named(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e["event"] == name]


# -- pure helpers ---------------------------------------------------------------------------


def test_uppercase_upper_cases_utf8_and_passes_other_bytes_through():
    assert uppercase(b"hello \xc3\xa9\xc3\x9f \xff\xfe") == b"HELLO \xc3\x89SS \xff\xfe"


def test_parse_events_ignores_non_json_lines_and_decode_data_reads_base64():
    text = 'noise\n{"event": "data", "t": 0.1, "data": "aGk="}\n{broken\n[1, 2]\n{"no": "event"}\n'
    events = parse_events(text)
    assert [e["event"] for e in events] == ["data"]
    assert decode_data(events[0]) == b"hi"
    assert decode_data({"event": "eof"}) == b""


def test_the_script_imports_only_the_standard_library():
    tree = ast.parse(SCRIPT.read_text())
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    modules |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


# -- UDP --------------------------------------------------------------------------------------


def test_udp_normal_replies_uppercase_and_logs_datagram_and_reply(servers):
    server = servers("udp", "normal")
    with udp_client() as sock:
        sock.sendto(b"hello world", server.addr)
        reply, source = sock.recvfrom(65535)
        client_port = sock.getsockname()[1]
    assert reply == b"HELLO WORLD"
    assert source == server.addr
    events = server.stop()
    assert [e["event"] for e in events] == ["ready", "datagram", "reply", "end"]
    assert events[0] == {
        "event": "ready",
        "t": events[0]["t"],
        "transport": "udp",
        "port": server.port,
        "behaviour": "normal",
    }
    datagram, answer = events[1], events[2]
    assert datagram["peer"] == answer["peer"] == f"{HOST}:{client_port}"
    assert (datagram["size"], decode_data(datagram)) == (11, b"hello world")
    assert (answer["size"], decode_data(answer), answer["from_port"]) == (11, b"HELLO WORLD", server.port)
    assert events[0]["t"] <= datagram["t"] <= answer["t"]


def test_udp_drop_first_ignores_only_the_first_datagram(servers):
    server = servers("udp", "drop_first")
    with udp_client(timeout=0.5) as sock:
        sock.sendto(b"one", server.addr)
        with pytest.raises(TimeoutError):
            sock.recvfrom(65535)
        sock.sendto(b"two", server.addr)
        assert sock.recvfrom(65535)[0] == b"TWO"
        sock.sendto(b"three", server.addr)
        assert sock.recvfrom(65535)[0] == b"THREE"
    events = server.stop()
    assert [decode_data(e) for e in named(events, "datagram")] == [b"one", b"two", b"three"]
    assert [decode_data(e) for e in named(events, "reply")] == [b"TWO", b"THREE"]


def test_udp_reply_twice_sends_two_replies(servers):
    server = servers("udp", "reply_twice")
    with udp_client() as sock:
        sock.sendto(b"twice", server.addr)
        assert sock.recvfrom(65535)[0] == b"TWICE"
        assert sock.recvfrom(65535)[0] == b"TWICE"
    events = server.stop()
    assert len(named(events, "datagram")) == 1
    assert [decode_data(e) for e in named(events, "reply")] == [b"TWICE", b"TWICE"]


def test_udp_reply_late_replies_after_the_delay_and_serves_other_datagrams_meanwhile(servers):
    delay = 0.5
    server = servers("udp", "reply_late", "--delay", str(delay))
    with udp_client(timeout=3.0) as first, udp_client(timeout=3.0) as second:
        started = time.monotonic()
        first.sendto(b"first", server.addr)
        time.sleep(0.1)
        second.sendto(b"second", server.addr)  # arrives while the first reply is pending
        assert first.recvfrom(65535)[0] == b"FIRST"
        first_at = time.monotonic() - started
        assert second.recvfrom(65535)[0] == b"SECOND"
        second_at = time.monotonic() - started
    assert delay * 0.9 <= first_at <= delay + 1.5
    assert 0.1 + delay * 0.9 <= second_at <= first_at + 1.0  # not queued behind a blocking sleep
    events = server.stop()
    datagrams, replies = named(events, "datagram"), named(events, "reply")
    assert len(datagrams) == len(replies) == 2
    assert all(r["t"] - d["t"] >= delay * 0.9 for d, r in zip(datagrams, replies, strict=True))
    assert datagrams[1]["t"] < replies[0]["t"]


def test_udp_wrong_port_replies_from_another_port(servers):
    server = servers("udp", "wrong_port")
    with udp_client() as sock:
        sock.sendto(b"where", server.addr)
        reply, (_, port) = sock.recvfrom(65535)
    assert reply == b"WHERE"
    assert port != server.port
    events = server.stop()
    (answer,) = named(events, "reply")
    assert answer["from_port"] == port


def test_udp_silent_never_replies(servers):
    server = servers("udp", "silent")
    with udp_client(timeout=0.5) as sock:
        sock.sendto(b"anyone", server.addr)
        with pytest.raises(TimeoutError):
            sock.recvfrom(65535)
    events = server.stop()
    assert len(named(events, "datagram")) == 1
    assert named(events, "reply") == []


# -- TCP --------------------------------------------------------------------------------------


def test_tcp_normal_answers_a_textbook_client_then_closes(servers):
    server = servers("tcp", "normal")
    with tcp_client(server.addr) as sock:
        sock.sendall(b"hello tcp")  # no newline, no half-close: the textbook client
        chunks, eof = recv_all(sock)
    assert b"".join(chunks) == b"HELLO TCP"
    assert eof
    events = server.stop()
    assert [e["event"] for e in events if e["event"] not in ("eof",)] == [
        "ready",
        "connect",
        "data",
        "reply",
        "close",
        "end",
    ]
    connect, data, reply = named(events, "connect")[0], named(events, "data")[0], named(events, "reply")[0]
    assert connect["conn"] == data["conn"] == reply["conn"] == 0
    assert (data["size"], data["total"], decode_data(data)) == (9, 9, b"hello tcp")
    assert (reply["size"], decode_data(reply)) == (9, b"HELLO TCP")
    assert reply["t"] - data["t"] >= 0.25  # completed by 0.3 s of quiet


def test_tcp_normal_answers_at_once_at_a_newline_or_half_close(servers):
    server = servers("tcp", "normal")
    for request, half_close in ((b"line\n", False), (b"half", True)):
        with tcp_client(server.addr) as sock:
            started = time.monotonic()
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            chunks, eof = recv_all(sock)
            assert time.monotonic() - started < 0.25
        assert (b"".join(chunks), eof) == (uppercase(request), True)
    events = server.stop()
    assert [e["conn"] for e in named(events, "close")] == [0, 1]
    assert 1 in [e["conn"] for e in named(events, "eof")]  # conn 1 half-closed before the reply


def test_tcp_slices_arrive_in_several_recv_calls_that_make_the_whole_reply(servers):
    server = servers("tcp", "slices", "--pieces", "3", "--pause", "0.15")
    with tcp_client(server.addr) as sock:
        sock.sendall(b"sliced reply\n")
        chunks, eof = recv_all(sock)
    assert b"".join(chunks) == b"SLICED REPLY\n"
    assert len(chunks) >= 2
    assert eof
    events = server.stop()
    replies = named(events, "reply")
    assert [e["piece"] for e in replies] == [0, 1, 2]
    assert b"".join(decode_data(e) for e in replies) == b"SLICED REPLY\n"
    assert replies[2]["t"] - replies[0]["t"] >= 2 * 0.15 * 0.9


def test_tcp_silent_keeps_the_connection_open_without_data(servers):
    server = servers("tcp", "silent")
    with tcp_client(server.addr, timeout=0.8) as sock:
        sock.sendall(b"hello?\n")
        with pytest.raises(TimeoutError):
            sock.recv(1024)  # neither data nor EOF: still open
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2.0)
        assert sock.recv(1024) == b""  # the server closes only after the client
    events = server.stop()
    assert [e["event"] for e in events] == ["ready", "connect", "data", "eof", "close", "end"]


def test_tcp_close_without_reply_closes_with_no_data(servers):
    server = servers("tcp", "close_without_reply")
    with tcp_client(server.addr) as sock:
        sock.sendall(b"bye")
        chunks, eof = recv_all(sock)
    assert (chunks, eof) == ([], True)
    events = server.stop()
    assert named(events, "reply") == []
    assert len(named(events, "close")) == 1


def test_tcp_reply_late_replies_after_the_delay(servers):
    delay = 0.5
    server = servers("tcp", "reply_late", "--delay", str(delay))
    with tcp_client(server.addr) as sock:
        started = time.monotonic()
        sock.sendall(b"late\n")
        chunks, eof = recv_all(sock)
        elapsed = time.monotonic() - started
    assert (b"".join(chunks), eof) == (b"LATE\n", True)
    assert delay * 0.9 <= elapsed <= delay + 1.5


def test_tcp_connections_beyond_sixteen_are_accepted_and_closed(servers):
    server = servers("tcp", "silent")
    socks = [tcp_client(server.addr, timeout=2.0) for _ in range(17)]
    try:
        assert socks[16].recv(1024) == b""  # the 17th is closed at once
        socks[0].settimeout(0.3)
        with pytest.raises(TimeoutError):
            socks[0].recv(1024)  # the first 16 are still served
    finally:
        for sock in socks:
            sock.close()
    events = server.stop()
    assert len(named(events, "connect")) == 17
    assert named(events, "close")[0]["conn"] == 16


# -- lifetime, bounds, signals ----------------------------------------------------------------


def test_lifetime_ends_the_process_by_itself_with_an_end_event(servers):
    server = servers("tcp", "normal", lifetime=0.7)
    events = server.finish(timeout=5.0)
    assert server.proc.returncode == 0
    assert events[-1]["event"] == "end"
    assert events[-1]["reason"] == "lifetime"
    assert events[-1]["t"] >= 0.7


def test_max_events_bounds_the_log_and_stops_a_flooding_client(servers):
    server = servers("udp", "normal", "--max-events", "5")
    with udp_client(timeout=0.2) as sock:
        for i in range(50):
            try:
                sock.sendto(b"flood %d" % i, server.addr)
            except OSError:
                break  # the server is gone
        events = server.finish(timeout=5.0)
    assert server.proc.returncode == 0
    assert events[0]["event"] == "ready"
    assert events[-1] == {"event": "end", "t": events[-1]["t"], "reason": "max-events"}
    assert len(events) == 5 + 2


def test_sigterm_writes_an_end_event_and_exits_zero(servers):
    server = servers("udp", "silent")
    events = server.stop()
    assert server.proc.returncode == 0
    assert [e["event"] for e in events] == ["ready", "end"]
    assert events[-1]["reason"] == "signal"


def test_a_port_in_use_gives_an_error_and_no_ready(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind((HOST, 0))
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-u", str(SCRIPT), "--transport", "udp", "--host", HOST, "--port", str(port)],
            check=False,
            capture_output=True,
            text=True,
            timeout=EXIT,
            cwd=tmp_path,
        )
    assert done.returncode == 1
    assert [e["event"] for e in parse_events(done.stdout)] == ["error"]
    assert "cannot bind" in done.stderr


# -- quiet: nothing scheduled, so only the client can make the server act again ------------


def raw_events(server: Scripted) -> list[str]:
    """Every event name the server wrote, quiet lines included, in order."""
    return [json.loads(line)["event"] for line in list(server.lines) if line.startswith("{")]


def await_quiet(server: Scripted, timeout: float = 2.0) -> None:
    """Until the last line the server wrote is a quiet one: it went to sleep with nothing scheduled."""
    deadline = time.monotonic() + timeout
    while raw_events(server)[-1:] != ["quiet"] and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_udp_server_says_quiet_each_time_it_sleeps_with_nothing_scheduled_and_parse_events_leaves_it_out(servers):
    server = servers("udp", "normal")
    with udp_client() as sock:
        for line in (b"one", b"two"):
            sock.sendto(line, server.addr)
            sock.recvfrom(65535)
    await_quiet(server)
    events = server.stop()
    written = raw_events(server)
    # The second datagram may land in the wake-up that sent the first reply: no sleep between, no quiet.
    assert written[:2] == ["ready", "quiet"] and written[-2:] == ["quiet", "end"]
    assert ("quiet", "quiet") not in itertools.pairwise(written)
    assert [e for e in written if e != "quiet"] == ["ready", "datagram", "reply", "datagram", "reply", "end"]
    assert "quiet" not in [e["event"] for e in events]


def test_a_udp_server_with_a_late_reply_pending_is_not_quiet_until_it_has_sent_it(servers):
    server = servers("udp", "reply_late", "--delay", "0.4")
    with udp_client(timeout=3.0) as sock:
        sock.sendto(b"later", server.addr)
        sock.recvfrom(65535)
    await_quiet(server)
    server.stop()
    assert raw_events(server) == ["ready", "quiet", "datagram", "reply", "quiet", "end"]


def test_a_tcp_server_is_not_quiet_while_it_waits_out_the_pause_that_completes_a_request(servers):
    server = servers("tcp", "normal")
    with tcp_client(server.addr) as sock:
        sock.sendall(b"no newline yet")  # complete only after the server's pause
        chunks, _ = recv_all(sock)
    assert b"".join(chunks) == b"NO NEWLINE YET"
    server.stop()
    written = raw_events(server)
    data_at = written.index("data")
    assert "quiet" not in written[data_at : written.index("reply")]


def test_quiet_lines_keep_the_log_within_twice_the_event_budget(servers):
    server = servers("udp", "normal", "--max-events", "5")
    with udp_client(timeout=0.2) as sock:
        for i in range(50):
            try:
                sock.sendto(b"flood %d" % i, server.addr)
            except OSError:
                break
        server.finish(timeout=5.0)
    assert len(server.lines) <= 2 * 5 + 3
