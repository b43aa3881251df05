"""A self-check stopped with SIGTERM (`timeout`, a cancelled CI job) removes its containers, as Ctrl-C does."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from grader.sandbox.docker import LABEL, OWNER_LABEL

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
# Binds and never answers: its checks wait out their timeouts, so the grading is still busy when stopped.
SILENT_SERVER = """\
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
while True:
    serverSocket.recvfrom(2048)
"""


def _containers_of(client: docker.DockerClient, owner: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": [LABEL, f"{OWNER_LABEL}={owner}"]})]


def test_a_self_check_stopped_with_sigterm_leaves_no_container_behind(tmp_path, docker_ready):
    (tmp_path / "UDPServer.py").write_text(SILENT_SERVER)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "grader/", "--submission", str(tmp_path), "-q", "-p", "no:randomly"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    owner = f"{socket.gethostname()}:{process.pid}"
    client = docker.from_env(timeout=120)
    try:
        until = time.monotonic() + 120
        while not _containers_of(client, owner) and time.monotonic() < until and process.poll() is None:
            time.sleep(0.5)
        assert _containers_of(client, owner), "the self-check never started a container"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=180)
        assert _containers_of(client, owner) == []
    finally:
        if process.poll() is None:
            process.kill()
        client.close()
