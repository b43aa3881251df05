"""The runtime image runs the reference servers as a non-root user, reachable on 127.0.0.1 ports."""

from __future__ import annotations

import socket
import time

import docker
import pytest

from grader.sandbox.docker import DEFAULT_IMAGE

pytestmark = pytest.mark.usefixtures("docker_ready")


@pytest.fixture
def run_reference(repo_root):
    client = docker.from_env()
    started = []

    def run(script: str, proto: str):
        container = client.containers.run(
            DEFAULT_IMAGE,
            ["python3", "-u", f"/reference/{script}"],
            detach=True,
            volumes={str(repo_root / "reference"): {"bind": "/reference", "mode": "ro"}},
            ports={f"12000/{proto}": ("127.0.0.1", None)},
            labels={"socketlab": "1", "socketlab.test": "smoke"},
        )
        started.append(container)
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"][f"12000/{proto}"][0]["HostPort"])
        return container, port

    yield run
    for container in started:
        container.remove(force=True)
    client.close()


def _udp_ask(port: int, payload: bytes, deadline: float) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:  # until the server inside has bound its socket
            sock.sendto(payload, ("127.0.0.1", port))
            try:
                return sock.recvfrom(2048)[0]
            except TimeoutError:
                continue
    raise AssertionError("the UDP server in the container never answered")


def _tcp_ask(port: int, payload: bytes, deadline: float) -> bytes:
    # Docker's proxy accepts at once; until the server inside listens, the connection is
    # closed or reset without a reply, so ask again until the deadline.
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := sock.recv(4096):
                    reply += chunk
                if reply:
                    return reply
        except OSError:  # reset, or shut down before the proxy could connect inside
            pass
        time.sleep(0.05)
    raise AssertionError("the TCP server in the container never answered")


def test_runtime_image_runs_programs_as_an_unprivileged_user():
    client = docker.from_env()
    output = client.containers.run(DEFAULT_IMAGE, ["id", "-u"], remove=True)
    client.close()
    assert output.strip() != b"0"


def test_reference_udp_server_answers_through_a_port_published_on_loopback(run_reference):
    _, port = run_reference("udp_server.py", "udp")
    assert _udp_ask(port, "straße".encode(), time.monotonic() + 10) == b"STRASSE"


def test_reference_tcp_server_answers_through_a_port_published_on_loopback(run_reference):
    _, port = run_reference("tcp_server.py", "tcp")
    assert _tcp_ask(port, b"hello tcp", time.monotonic() + 10) == b"HELLO TCP"


def test_published_ports_are_bound_to_loopback_only(run_reference):
    container, _ = run_reference("udp_server.py", "udp")
    bindings = container.attrs["NetworkSettings"]["Ports"]["12000/udp"]
    assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
