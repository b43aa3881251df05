"""Start-up figure: `docker run` of the reference UDP server until it answers, against a local process.

    python -m bench.startup [--runs 20]

Both are timed from the moment the program is asked to start to its first reply, and they
alternate in the same run, so the ratio holds on a noisy machine. The container is started
by the grader's own DockerSandbox, with every limit a student's server gets, and reached from
a socket made inside its loopback-only network namespace, as a graded check reaches it.

Also measured: the machine's CPU time for each start, from the request to start until the
program is gone again (a container's removal costs CPU too, and a grading pays it for
every container). It is the whole machine's busy time, so other work meanwhile counts.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import busy_cpu_seconds
from bench.stats import Summary, ratio, summarize
from grader.model import Program, Role
from grader.sandbox.docker import DockerSandbox

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
UDP_SERVER = Program(Role.UDP_SERVER, ("python3", "-u", "udp_server.py"))
PORT = 12000  # inside the container, where it is the student's port; nothing binds it on the host
ANSWER_TIMEOUT = 20.0  # seconds; a program that takes longer is broken, not slow


@dataclass(frozen=True)
class StartupFigures:
    runs: int
    docker: Summary
    local: Summary
    median_ratio: float | None
    docker_cpu: Summary  # machine CPU seconds per start and removal
    local_cpu: Summary


def wait_for_answer(target: tuple[str, int], deadline: float, make_socket=socket.socket) -> None:
    """Send `ping` until `PING` comes back; RuntimeError at `deadline` (monotonic).

    `make_socket` makes the socket where `target` is reachable (a sandbox's namespace).
    """
    with make_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.01)
        while time.monotonic() < deadline:
            sock.sendto(b"ping", target)
            try:
                if sock.recvfrom(64)[0] == b"PING":
                    return
            except OSError:
                time.sleep(0.005)
    raise RuntimeError(f"no answer from {target[0]}:{target[1]} before the deadline")


def docker_start(sandbox: DockerSandbox) -> float:
    started = time.monotonic()
    server = sandbox.start_server(REFERENCE, UDP_SERVER, PORT)
    try:
        wait_for_answer(server.address("udp"), started + ANSWER_TIMEOUT, server.make_socket)
        return time.monotonic() - started
    finally:
        server.stop()


def free_udp_port() -> int:
    """A port the kernel says is free on 127.0.0.1; never 12000, which gradings on this machine may hold."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_start(port: int) -> float:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-u", str(REFERENCE / "udp_server.py"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_answer(("127.0.0.1", port), started + ANSWER_TIMEOUT)
        return time.monotonic() - started
    finally:
        process.kill()
        process.wait()


def measure(runs: int) -> StartupFigures:
    """Docker and local starts alternate, so a busy moment of the machine hits both."""
    sandbox = DockerSandbox()
    in_docker: list[tuple[float, float]] = []
    local: list[tuple[float, float]] = []
    try:
        for _ in range(runs):
            in_docker.append(_with_cpu(lambda: docker_start(sandbox)))
            local.append(_with_cpu(lambda: local_start(free_udp_port())))
    finally:
        sandbox.close()
    docker_summary, local_summary = summarize([s for s, _ in in_docker]), summarize([s for s, _ in local])
    return StartupFigures(
        runs,
        docker_summary,
        local_summary,
        ratio(docker_summary.median, local_summary.median),
        summarize([c for _, c in in_docker]),
        summarize([c for _, c in local]),
    )


def _with_cpu(start: Callable[[], float]) -> tuple[float, float]:
    """(seconds until it answered, machine CPU seconds until it was gone again)."""
    before = busy_cpu_seconds()
    seconds = start()
    return seconds, busy_cpu_seconds() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    figures = measure(args.runs)
    for name, summary in (
        ("docker run until it answers", figures.docker),
        ("local process until it answers", figures.local),
    ):
        print(
            f"{name:34s} median {summary.median * 1000:7.1f} ms   worst {summary.worst * 1000:7.1f} ms"
            f"   ({figures.runs} runs)"
        )
    if figures.median_ratio is not None:
        print(f"ratio (median)                     {figures.median_ratio:.1f}x")
    print(
        f"machine CPU per start and stop     docker {figures.docker_cpu.median:.2f} s, "
        f"local {figures.local_cpu.median:.2f} s (medians)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
