"""A student program reaches the grader and nothing else (DESIGN.md, "Trust boundary"; issue 11).

One class folder, one student whose four programs are the textbook's with a hostile streak
(tests/trust/network_probes/): each does its job well enough to be graded and meanwhile
sends a datagram and opens a TCP connection to every address this test listens on:

- an outside host that the test makes itself: a network namespace joined to the grading
  machine by a veth pair (machine end 198.18.0.1/30, namespace end 198.18.0.2/30), with
  UDP and TCP listeners on OUTSIDE_PORTS. Reaching it means the machine forwards student
  packets to another network, as it would to any host of the LAN or the internet;
- the grading machine itself: listeners on all its interfaces on HOST_PORTS. The programs
  aim at the machine's veth end and at their own default gateway, if they have one (for a
  Docker bridge that is the bridge's address on this machine, so a listener of this test
  owns it).

The verdict comes from the listeners: every datagram and connection they record, less the
ones this test sent itself to prove they work, came from a student container.

DNS is covered without sending anything. A query would go to the machine's real DNS
servers (Docker's embedded resolver forwards there), so no program resolves any name but
`localhost` (from /etc/hosts) and none sends to port 53. Instead each program reads
/etc/resolv.conf and, for each nameserver, asks the kernel whether its namespace has a
way there: a UDP `connect()`, which only chooses a route and sends no packet, fails with
ENETUNREACH when there is none; for a loopback nameserver, where a route always exists,
it reads the namespace's socket table for a listener there (Docker's embedded resolver on
127.0.0.11). A program that finds a way answers "nameserver-route ..." instead of the
upper-cased line, so the verdict leaves the sandbox through the grading report.

The test itself sends only to 127.0.0.1 and to the namespace it made, after checking that
the route there is its veth (checked again before the grading, since the programs aim at
it too); the programs aim only at addresses where the test listens. Every listener, probe
and wait is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from grader import junit
from grader.model import CheckResult
from grader.report import format_result

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROBES = HERE / "network_probes"
RECORDER = HERE / "recorder.py"
GRADER = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "grader"

OUTSIDE = "198.18.0.2"  # reserved for benchmarking (RFC 2544): no public host has it
HOST_END = "198.18.0.1"
OUTSIDE_PORTS = (40917, 12000)
# Not 12000 on the machine itself: local-mode gradings (other tests, students' pytest runs)
# bind 127.0.0.1:12000 here, and either they or this listener would fail to bind.
HOST_PORTS = (40917, 40918)
STUDENT = "mallory"
NAMESPACE_PREFIX = "socketlab-trust-"
RECORDER_LIFETIME = 900  # seconds: the last stop for a listener that missed its test going away
GRADING_TIMEOUT = 600
REPLY_CHECKS = ("udp_server.basic", "tcp_server.basic", "udp_client.prints_reply", "tcp_client.prints_reply")
RAN_CHECKS = ("udp_server.listening", "tcp_server.listening", "udp_client.sends_line", "tcp_client.sends_line")
MARKER = "nameserver-route"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def _route_device(address: str) -> str | None:
    found = re.search(r"\bdev (\S+)", _ip("-o", "route", "get", address).stdout)
    return found.group(1) if found else None


def _sweep_dead_namespaces() -> None:
    """Remove what a killed run of this test left, so its address plan is free again."""
    for line in _ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        pid = name.removeprefix(NAMESPACE_PREFIX)
        if name.startswith(NAMESPACE_PREFIX) and pid.isdigit() and not psutil.pid_exists(int(pid)):
            # Deleting the machine's end destroys the pair at once; the namespace itself lives
            # on while that run's listeners do (at most RECORDER_LIFETIME).
            _ip("link", "del", f"slt{pid}h", check=False)
            _ip("netns", "del", name, check=False)


@dataclass
class Listener:
    name: str
    log: Path
    process: subprocess.Popen
    own: set[tuple[str, str, int]] = field(default_factory=set)  # (proto, src, sport) this test sent

    def records(self) -> list[dict]:
        text = self.log.read_text() if self.log.exists() else ""
        # The last line may still be being written; every other one ends in a newline.
        return [r for r in map(json.loads, text.split("\n")[:-1]) if "proto" in r]

    def arrivals(self) -> list[dict]:
        """What arrived from anyone but this test."""
        return [r for r in self.records() if (r["proto"], r["src"], r["sport"]) not in self.own]


@dataclass
class OutsideHost:
    namespace: str
    device: str  # the machine's end of the veth: the only way to OUTSIDE
    outside: Listener
    machine: Listener

    def check_route(self) -> None:
        device = _route_device(OUTSIDE)
        if device != self.device:
            pytest.fail(
                f"the route to {OUTSIDE} goes over {device}, not the test's veth {self.device}; nothing was sent there"
            )


def _start_listener(name: str, folder: Path, ports: tuple[int, ...], prefix: list[str]) -> Listener:
    log = folder / f"{name}.jsonl"
    errors = (folder / f"{name}.stderr").open("w")
    command = [
        *prefix,
        sys.executable,
        str(RECORDER),
        "--log",
        str(log),
        "--ports",
        ",".join(map(str, ports)),
        "--lifetime",
        str(RECORDER_LIFETIME),
        "--parent",
        str(os.getpid()),
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
    errors.close()
    listener = Listener(name, log, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and '"ready"' in log.read_text():
            return listener
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=5)
    pytest.fail(f"the {name} listener did not start: {(folder / f'{name}.stderr').read_text()[-500:]}")


def _knock(listener: Listener, address: str, ports: tuple[int, ...]) -> None:
    """One datagram and one connection per port from this test, to prove the listener records."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect((address, port))  # connected, so getsockname names the real source
            udp.send(b"self-check")
            listener.own.add(("udp", *udp.getsockname()))
        with socket.create_connection((address, port), timeout=3) as tcp:
            listener.own.add(("tcp", *tcp.getsockname()))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if listener.own <= {(r["proto"], r["src"], r["sport"]) for r in listener.records()}:
            return
        time.sleep(0.05)
    pytest.fail(f"the {listener.name} listener did not record this test's own packets: {listener.records()}")


def _stop(listener: Listener) -> None:
    if listener.process.poll() is None:
        listener.process.terminate()
        try:
            listener.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            listener.process.kill()
            listener.process.wait(timeout=5)


@pytest.fixture(scope="module")
def outside_host(tmp_path_factory):
    """A host outside the grading machine that this test owns, and listeners on the machine itself."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a network namespace and a veth pair")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2 (`ip`) to make a network namespace")
    _sweep_dead_namespaces()
    held = _ip("-o", "-4", "addr", "show", "to", f"{HOST_END}/30").stdout.strip()
    if held:
        pytest.fail(f"{HOST_END}/30 is already on this machine (another run of this test?): {held}")
    pid = os.getpid()
    namespace, machine_end, outside_end = f"{NAMESPACE_PREFIX}{pid}", f"slt{pid}h", f"slt{pid}n"
    made = _ip("netns", "add", namespace, check=False)
    if made.returncode != 0:
        pytest.skip(f"this machine cannot make a network namespace: {made.stderr.strip()}")
    folder = tmp_path_factory.mktemp("outside_host")
    listeners: list[Listener] = []
    try:
        _ip("link", "add", machine_end, "type", "veth", "peer", "name", outside_end, "netns", namespace)
        _ip("addr", "add", f"{HOST_END}/30", "dev", machine_end)
        _ip("link", "set", machine_end, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "addr", "add", f"{OUTSIDE}/30", "dev", outside_end)
        _ip("-n", namespace, "link", "set", outside_end, "up")
        # The way back for a TCP handshake from a student container (its address is on a
        # bridge of this machine); the namespace has no other interface to go anywhere else.
        _ip("-n", namespace, "route", "add", "default", "via", HOST_END)
        outside = _start_listener("outside", folder, OUTSIDE_PORTS, ["ip", "netns", "exec", namespace])
        listeners.append(outside)
        machine = _start_listener("machine", folder, HOST_PORTS, [])
        listeners.append(machine)
        host = OutsideHost(namespace, machine_end, outside, machine)
        host.check_route()
        _knock(outside, OUTSIDE, OUTSIDE_PORTS)
        _knock(machine, "127.0.0.1", HOST_PORTS)
        yield host
    finally:
        for listener in listeners:
            _stop(listener)
        _ip("link", "del", machine_end, check=False)
        _ip("netns", "del", namespace, check=False)


@dataclass(repr=False)  # pytest shows the fixture's repr in every failure; the lists would drown it
class Graded:
    process: subprocess.CompletedProcess
    out: Path
    seconds: float
    checks: dict[str, CheckResult]
    outside: list[dict]
    machine: list[dict]

    def __repr__(self) -> str:
        return f"<{STUDENT} graded, exit {self.process.returncode}, reports in {self.out}>"


@pytest.fixture(scope="module")
def graded(docker_ready, outside_host, tmp_path_factory) -> Graded:
    """The hostile student graded once, with `grader grade --sandbox docker`, while the listeners listen."""
    root = tmp_path_factory.mktemp("class")
    student = root / STUDENT
    shutil.copytree(PROBES, student, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (student / "targets.json").write_text(
        json.dumps(
            {
                "hosts": [[OUTSIDE, list(OUTSIDE_PORTS)], [HOST_END, list(HOST_PORTS)]],
                "gateway_ports": list(HOST_PORTS),
            }
        )
    )
    out = root / "reports"
    outside_host.check_route()  # the programs are about to aim at it
    started = time.monotonic()
    process = subprocess.run(
        [str(GRADER), "grade", str(root), "--out", str(out), "--sandbox", "docker"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GRADING_TIMEOUT,
    )
    seconds = time.monotonic() - started
    time.sleep(0.5)  # the containers are gone; let the listeners write what they got last
    gradebook = out / "gradebook.xml"
    reports = [junit.report(suite) for suite in junit.read_suites(gradebook)] if gradebook.exists() else []
    checks = {c.check_id: c for r in reports if r.student == STUDENT for c in r.checks}
    return Graded(process, out, seconds, checks, outside_host.outside.arrivals(), outside_host.machine.arrivals())


def _summary(arrivals: list[dict]) -> str:
    """Arrivals grouped by where they landed: how many, from which addresses, sent by which roles."""
    if not arrivals:
        return "nothing"
    groups: dict[str, list[dict]] = {}
    for record in arrivals:
        groups.setdefault(f"{record['proto']} {record['dst']}:{record['port']}", []).append(record)
    parts = []
    for where, records in sorted(groups.items()):
        sources = sorted({r["src"] for r in records}, key=socket.inet_aton)
        roles = sorted({r["payload"].removesuffix(" probe") for r in records if r["payload"]})
        parts.append(f"{where}: {len(records)} from {', '.join(sources)}" + (f" ({', '.join(roles)})" if roles else ""))
    return f"{len(arrivals)} arrivals; " + "; ".join(parts)


def _lines_with(graded: Graded, word: str) -> list[str]:
    """Lines of the checks' reports that hold `word` (the programs' output is in them)."""
    return sorted(
        {line.strip() for check in graded.checks.values() for line in format_result(check).splitlines() if word in line}
    )


def _not_passed(graded: Graded, check_ids: tuple[str, ...]) -> dict[str, str]:
    return {
        c: (graded.checks[c].summary if c in graded.checks else "missing from the report")
        for c in check_ids
        if c not in graded.checks or not graded.checks[c].passed
    }


def test_the_hostile_class_is_graded_to_the_end(graded, capsys):
    with capsys.disabled():
        print(
            f"\ngraded {STUDENT} in {graded.seconds:.1f} s (exit {graded.process.returncode}); "
            f"{len(graded.checks)} checks, {sum(c.passed for c in graded.checks.values())} passed"
        )
    assert graded.process.returncode == 0, graded.process.stdout + graded.process.stderr
    assert graded.checks, f"no report for {STUDENT} in {graded.out}"
    errors = {c.check_id: c.summary for c in graded.checks.values() if c.status == "error"}
    assert not errors, f"the grader could not run these checks: {errors}"
    # These pass whatever the programs answer: each role ran in its sandbox, so its probes did too.
    assert not _not_passed(graded, RAN_CHECKS), _not_passed(graded, RAN_CHECKS)


def test_nothing_from_a_student_container_arrives_at_a_host_outside_the_grading_machine(graded, capsys):
    with capsys.disabled():
        print(
            f"\nprobed {OUTSIDE} (udp+tcp {', '.join(map(str, OUTSIDE_PORTS))}) from every student container; "
            f"arrived there: {_summary(graded.outside)}"
        )
        for line in _lines_with(graded, "netprobe ")[:4]:
            print(f"  e.g. {line}")
    assert graded.outside == [], f"the outside host {OUTSIDE} got {_summary(graded.outside)}"


def test_nothing_from_a_student_container_arrives_at_the_grading_machine_itself(graded, capsys):
    with capsys.disabled():
        print(
            f"\nprobed {HOST_END} and each container's default gateway (udp+tcp "
            f"{', '.join(map(str, HOST_PORTS))}); arrived at the grading machine: {_summary(graded.machine)}"
        )
    assert graded.machine == [], f"the grading machine got {_summary(graded.machine)}"


def test_a_student_container_has_no_route_to_a_dns_server(graded, capsys):
    found: dict[str, set[str]] = {}  # what a program found -> the checks whose report shows it
    for check in graded.checks.values():
        for way in re.findall(MARKER + r" [^'\"\n]*", format_result(check)):
            found.setdefault(way.strip(), set()).add(check.check_id)
    ways = [f"{way} (in {', '.join(sorted(checks))})" for way, checks in sorted(found.items())]
    with capsys.disabled():
        print(f"\nDNS, checked from inside without sending: {len(found)} way(s) to a nameserver found")
        for way in ways:
            print(f"  {way}")
    assert not found, "a student container can reach a DNS server:\n" + "\n".join(ways)
    # A program answers right only after finding no way to a nameserver: a pass is that verdict.
    assert not _not_passed(graded, REPLY_CHECKS), _not_passed(graded, REPLY_CHECKS)
