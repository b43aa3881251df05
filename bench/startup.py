"""Start-up figure: `docker run` of the reference UDP server until it answers, against a local process.

    python bench/startup.py [--runs 20]

Prints the median and the worst of each, measured in the same run so the ratio holds on a
noisy machine.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "socketlab-runtime:latest"


def _until_answer(target: tuple[str, int], deadline: float) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.01)
        while time.monotonic() < deadline:
            sock.sendto(b"ping", target)
            try:
                if sock.recvfrom(64)[0] == b"PING":
                    return
            except OSError:
                time.sleep(0.005)
    raise RuntimeError("no answer before the deadline")


def docker_start(client: docker.DockerClient, network: str) -> float:
    started = time.monotonic()
    container = client.containers.run(
        IMAGE, ["python3", "-u", "/reference/udp_server.py"], detach=True, network=network,
        volumes={str(ROOT / "reference"): {"bind": "/reference", "mode": "ro"}}, labels={"socketlab": "1"})
    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        _until_answer((ip, 12000), started + 20)
        return time.monotonic() - started
    finally:
        container.remove(force=True)


def local_start(port: int) -> float:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-u", str(ROOT / "reference" / "udp_server.py"),
                                "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        _until_answer(("127.0.0.1", port), started + 20)
        return time.monotonic() - started
    finally:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    client = docker.from_env()
    network = client.networks.create("socketlab-bench-startup", labels={"socketlab": "1"})
    try:
        in_docker = [docker_start(client, network.name) for _ in range(args.runs)]
    finally:
        network.remove()
    local = [local_start(12900) for _ in range(args.runs)]
    for name, values in (("docker run until it answers", in_docker), ("local process until it answers", local)):
        print(f"{name:34s} median {statistics.median(values) * 1000:7.1f} ms   worst {max(values) * 1000:7.1f} ms"
              f"   ({args.runs} runs)")
    print(f"ratio (median)                     {statistics.median(in_docker) / statistics.median(local):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
