"""Docker containers with the hardened defaults of DESIGN.md; the only module that talks to Docker.

Every object carries the `socketlab` label and the PID of the grader that made it, so a
later run can sweep what a killed run left without touching a live run's containers.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig, Ulimit

from grader.model import Program
from grader.sandbox import Address, ExitInfo, SandboxError
from grader.sandbox.sockets import BoundSocket, read_namespace, read_unread
from grader.scenarios.clients import PLACEHOLDER_HOSTS, ClientRun, ScriptedServerSpec
from grader.scratch import process_alive, scratch_dir
from grader.scripted_server import parse_events

GRADER_DIR = Path(__file__).resolve().parents[1]  # holds scripted_server.py, mounted into sidecars

DEFAULT_IMAGE = "socketlab-runtime:latest"
LABEL = "socketlab"
OWNER_LABEL = "socketlab.owner"  # "<hostname>:<pid>" of the grader process that created it

STUDENT_UID = 10001  # the Dockerfile's unprivileged user
MEMORY = "256m"
PIDS = 64
NANO_CPUS = 1_000_000_000  # about one CPU
NOFILE = 256
FSIZE = 8 << 20  # bytes a program may write to one file
TMPFS = "size=16m,mode=1777"
LOG_MAX = "1m"


def docker_problem(image: str | None = None) -> str | None:
    """None when Docker can run student programs; otherwise what is wrong and how to fix it."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except DockerException as exc:
        return (f"Docker engine not reachable ({exc.__class__.__name__}). Fix: start Docker "
                "(`make engine` does it on Debian as root), or grade with --sandbox local.")
    try:
        client.images.get(image or DEFAULT_IMAGE)
    except ImageNotFound:
        return f"Docker image {image or DEFAULT_IMAGE} is missing. Fix: run `make image`."
    except DockerException as exc:
        return f"Docker image check failed: {exc}"
    finally:
        client.close()
    return None


def _wait(container, budget: float) -> ExitInfo | None:
    """The exit of a container, or None when it is still running after `budget` seconds."""
    try:
        status = container.wait(timeout=budget)
    except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
        return None
    container.reload()
    return ExitInfo(status.get("StatusCode"), bool(container.attrs["State"].get("OOMKilled")))


def _await_log_line(container, marker: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in container.logs(stdout=True, stderr=False):
            return
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.02)
    raise SandboxError("the scripted server did not start: " + container.logs().decode("utf-8", "replace")[-500:])


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep_leftovers(client: docker.DockerClient, everything: bool = False) -> int:
    """Remove labelled containers and networks whose grader process on this host is gone.

    `everything` removes every labelled object, live runs' too (`grader clean --all`).
    """
    removed = 0
    host = socket.gethostname()

    def orphaned(labels: dict[str, str]) -> bool:
        if everything:
            return True
        owner_host, _, pid = labels.get(OWNER_LABEL, ":").partition(":")
        return owner_host == host and pid.isdigit() and not process_alive(int(pid))

    # The low-level API lists without inspecting each object, so objects that another run
    # removes meanwhile cannot break the sweep.
    for container in client.api.containers(all=True, filters={"label": LABEL}):
        if orphaned(container.get("Labels") or {}):
            try:
                client.api.remove_container(container["Id"], force=True)
                removed += 1
            except NotFound:
                pass
    # Networks last: Docker refuses to remove one that a container still uses.
    for network in client.api.networks(filters={"label": LABEL}):
        if orphaned(network.get("Labels") or {}):
            try:
                client.api.remove_network(network["Id"])
                removed += 1
            except (NotFound, APIError):
                pass
    return removed


class DockerServer:
    """A student server in its container.

    On Linux the grader talks to the container's address on this run's own bridge network:
    Docker's userland proxy behind published ports drops zero-length UDP datagrams and
    accepts TCP connections for a port nobody listens on, both of which would falsify
    checks. Elsewhere (Docker Desktop) the bridge is not routable and the ports published
    on 127.0.0.1 are used.
    """

    def __init__(self, container, port: int, network: str):
        self._container = container
        self._port = port
        self._network = network
        self._addresses: dict[str, Address] = {}
        self._pid: int | None = None
        self._exit: ExitInfo | None = None

    def address(self, transport: str) -> Address:
        if transport not in self._addresses:
            self._container.reload()
            settings = self._container.attrs["NetworkSettings"]
            bridge_ip = (settings["Networks"].get(self._network) or {}).get("IPAddress")
            if sys.platform == "linux" and bridge_ip:
                self._addresses[transport] = (bridge_ip, self._port)
            else:
                bindings = (settings["Ports"] or {}).get(f"{self._port}/{transport}")
                if not bindings:
                    raise SandboxError(f"Docker did not publish {self._port}/{transport}")
                self._addresses[transport] = ("127.0.0.1", int(bindings[0]["HostPort"]))
        return self._addresses[transport]

    def bound_sockets(self) -> list[BoundSocket] | None:
        pid = self._namespace_pid()
        return [] if pid is None else read_namespace(pid, STUDENT_UID)

    def unread_bytes(self, peer_port: int) -> int | None:
        pid = self._namespace_pid()
        return None if pid is None else read_unread(pid, self._port, peer_port)

    def _namespace_pid(self) -> int | None:
        if self._pid is None:
            self._container.reload()
            self._pid = self._container.attrs["State"]["Pid"] or None
        return self._pid

    def exit_info(self) -> ExitInfo | None:
        if self._exit is not None:
            return self._exit
        try:
            self._container.reload()
        except NotFound:
            return ExitInfo(None)
        state = self._container.attrs["State"]
        if state["Running"]:
            return None
        self._exit = ExitInfo(state.get("ExitCode"), bool(state.get("OOMKilled")))
        return self._exit

    def output_tail(self, lines: int = 20) -> str:
        try:
            raw = self._container.logs(stdout=True, stderr=True, tail=lines)
        except DockerException:
            return ""
        return raw.decode("utf-8", "replace").rstrip("\n")

    def stop(self) -> None:
        try:
            self._container.remove(force=True)
        except NotFound:
            pass


class DockerSandbox:
    name = "docker"
    sandboxed = True

    def __init__(self, image: str | None = None):
        self.image = image or DEFAULT_IMAGE
        try:
            self.client = docker.from_env(timeout=30)
        except DockerException as exc:
            raise SandboxError(f"Docker engine not reachable: {exc}") from None
        self.run_id = uuid.uuid4().hex[:12]
        self.labels = {LABEL: "1", OWNER_LABEL: _owner(), "socketlab.run": self.run_id}
        sweep_leftovers(self.client)
        self.network = self.client.networks.create(
            f"socketlab-{self.run_id}", driver="bridge", labels=self.labels,
            options={
                # Students' containers cannot reach each other nor anything outside.
                "com.docker.network.bridge.enable_icc": "false",
                "com.docker.network.bridge.enable_ip_masquerade": "false",
            })
        self._containers: list = []
        self._containers_lock = threading.Lock()  # the engine may run checks side by side

    def start_server(self, submission_path: Path, program: Program, port: int) -> DockerServer:
        container = self.start_server_container(submission_path, program, ports={
            f"{port}/udp": ("127.0.0.1", None), f"{port}/tcp": ("127.0.0.1", None)})
        return DockerServer(container, port, self.network.name)

    def run_client(self, submission_path: Path, program: Program, stdin: bytes,
                   server: ScriptedServerSpec | None, budget: float) -> ClientRun:
        """The scripted server in a sidecar; the client joins its network namespace.

        The client's `localhost:12000` is then the scripted server, and the sidecar's hosts
        file maps the textbook's placeholder names to it. The typed line is a read-only file
        on the client's stdin.
        """
        lifetime = budget + 10  # the sidecar always ends by itself, even if we are killed
        command = (["python3", "-u", "/grader/scripted_server.py", *server.arguments(lifetime)] if server
                   else ["python3", "-c", f"import time; time.sleep({lifetime})"])
        sidecar = self._start(
            command, volumes={str(GRADER_DIR): {"bind": "/grader", "mode": "ro"}}, network=self.network.name,
            extra_hosts={name: "127.0.0.1" for name in PLACEHOLDER_HOSTS},
            labels={**self.labels, "socketlab.role": "scripted_server"})
        try:
            if server is not None:
                _await_log_line(sidecar, b'"event": "ready"', timeout=10)
            with scratch_dir("stdin") as folder:
                Path(folder, "stdin").write_bytes(stdin)
                os.chmod(folder, 0o755)
                started = time.monotonic()
                client = self._start(
                    ["sh", "-c", shlex.join(program.command) + " < /input/stdin"],
                    volumes={str(submission_path.resolve()): {"bind": "/submission", "mode": "ro"},
                             folder: {"bind": "/input", "mode": "ro"}},
                    network_mode=f"container:{sidecar.id}",
                    labels={**self.labels, "socketlab.role": program.role.value})
                exit_info = _wait(client, budget)
                duration = time.monotonic() - started
                if exit_info is None:
                    client.kill()
                stdout = client.logs(stdout=True, stderr=False).decode("utf-8", "replace")
                stderr = client.logs(stdout=False, stderr=True).decode("utf-8", "replace")
                self._remove(client)
            sidecar.stop(timeout=2)  # SIGTERM: the scripted server writes its `end` event
            events = parse_events(sidecar.logs(stdout=True, stderr=False).decode("utf-8", "replace"))
        finally:
            self._remove(sidecar)
        return ClientRun(stdout, stderr, exit_info, duration, budget, events)

    def start_server_container(self, submission_path: Path, program: Program, **extra):
        return self._start(list(program.command),
                           volumes={str(submission_path.resolve()): {"bind": "/submission", "mode": "ro"}},
                           network=self.network.name,
                           labels={**self.labels, "socketlab.role": program.role.value}, **extra)

    def _remove(self, container) -> None:
        try:
            container.remove(force=True)
        except NotFound:
            pass
        with self._containers_lock:
            if container in self._containers:
                self._containers.remove(container)

    def _start(self, command: list[str], **extra):
        try:
            container = self.client.containers.run(
                self.image, command, detach=True,
                user=f"{STUDENT_UID}:{STUDENT_UID}", working_dir="/submission",
                cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
                tmpfs={"/tmp": TMPFS}, pids_limit=PIDS, mem_limit=MEMORY, memswap_limit=MEMORY,
                nano_cpus=NANO_CPUS, init=True,
                ulimits=[Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
                         Ulimit(name="fsize", soft=FSIZE, hard=FSIZE)],
                log_config=LogConfig(type="json-file", config={"max-size": LOG_MAX, "max-file": "1"}),
                **extra)
        except ImageNotFound:
            raise SandboxError(f"Docker image {self.image} is missing. Fix: run `make image`.") from None
        except DockerException as exc:
            raise SandboxError(f"Docker could not start the container: {exc}") from None
        with self._containers_lock:
            self._containers.append(container)
        return container

    def close(self) -> None:
        with self._containers_lock:
            remaining = list(self._containers)
        for container in remaining:
            try:
                self._remove(container)
            except DockerException:
                pass  # the start-up sweep of a later run removes it: its owner PID is then dead
        try:
            self.network.remove()
        except DockerException:
            pass
        self.client.close()
