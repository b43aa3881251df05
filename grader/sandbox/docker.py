"""Docker containers with the hardened defaults of DESIGN.md; the only module that talks to Docker.

Every student container has loopback only (`network_mode="none"`): it reaches nothing but
the grader, whose sockets are made inside its network namespace (grader.sandbox.netns).
Every student container starts grader.sandbox.launcher, which starts the role's program on
the grader's order, as a new process each time: one container serves every start of a
server (the first, and each after a crash; grader.sandbox.server_container) and every run
of a client, whose scripted server listens in the container's loopback before the client
runs (grader.sandbox.client_container). No bridge, no gateway, no DNS, no published port.

Programs see a read-only copy of the submission in a Docker volume, never a host folder:
no host path shows inside the container, no symlink of the submission is followed on the
host, and file modes cannot make a student's own files unreadable to the program.

Every object carries the `socketlab` label and the PID of the grader that made it, so a
later run can sweep what a killed run left without touching a live run's containers.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import stat
import sys
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TypeVar

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig, Ulimit

from grader import PACKAGE_DIR
from grader.discover import SKIPPED_DIRS
from grader.model import Program, ProgramRun, Role
from grader.sandbox import PeerNetwork, PeerQuiet, SandboxError
from grader.sandbox.client_container import ClientContainer
from grader.sandbox.launcher_container import LauncherContainer
from grader.sandbox.netns import NamespaceSockets, RelaySockets, SocketMaker, can_enter
from grader.sandbox.server_container import ServerContainer, ServerRun
from grader.sandbox.sockets import HOST_ADDRESS
from grader.sandbox.usage import CgroupUsage
from grader.scratch import PREFIX as SCRATCH_PREFIX
from grader.scratch import process_alive

DEFAULT_IMAGE = "socketlab-runtime:latest"
LABEL = "socketlab"
OWNER_LABEL = "socketlab.owner"  # "<hostname>:<pid>" of the grader process that created it
SUBMISSION_LABEL = "socketlab.submission"  # the submission folder's name
SANDBOX_HOSTNAME = "sandbox"

STUDENT_UID = 10001  # the Dockerfile's unprivileged user
MEMORY = "256m"
PIDS = 64
NANO_CPUS = 1_000_000_000  # about one CPU
NOFILE = 256
FSIZE = 8 << 20  # bytes a program may write to one file
TMPFS = "size=16m,mode=1777"
LOG_MAX = "1m"
MAX_COPY_BYTES = 64 << 20  # a submission's files copied into its volume; beyond this it is refused
MAX_COPY_FILES = 2000  # and its files and folders: a million empty files would make a huge archive too
LAUNCHER = (PACKAGE_DIR / "sandbox" / "launcher.py").read_text()
LAUNCHER_WAIT = 600  # seconds a client's launcher waits for the grader's connection, or its next order
RELAY_UID = 10002  # the relay's user when the grader is root: never the student's, whose sockets are judged
L = TypeVar("L", bound=LauncherContainer)
_NOT_COPIED = SKIPPED_DIRS | {".git"}  # what discovery never reads, and the repository's history


# How the grader's sockets get inside a loopback-only container: it enters the namespace
# itself (setns: root), or a trusted relay container inside makes them and passes them out.
NETNS_ENTRIES = ("auto", "setns", "relay")
RELAY_CODE = PACKAGE_DIR / "sandbox" / "socket_relay.py"
RELAY_LIFETIME = 3600  # seconds; a relay is removed with its server, this bounds one a killed grader left

CANNOT_ENTER = (
    "the grader cannot enter a container's network namespace (it needs root, or CAP_SYS_ADMIN). "
    "Fix: run it as root, or leave --netns-entry at auto to use a relay container."
)
NO_LOOPBACK_REACH = (
    "this Docker engine runs containers in a virtual machine (Docker Desktop), where the "
    "grader cannot reach a loopback-only sandbox. Fix: grade on Linux, or with --sandbox local "
    "(not sandboxed)."
)


def netns_entry(requested: str = "auto") -> str:
    """`setns` or `relay`; SandboxError where the one asked for cannot work here."""
    if requested not in NETNS_ENTRIES:
        raise SandboxError(f"unknown --netns-entry {requested!r}: use {', '.join(NETNS_ENTRIES)}")
    if requested == "setns" and not can_enter():
        raise SandboxError(CANNOT_ENTER)
    if requested == "auto":
        return "setns" if can_enter() else "relay"
    return requested


def submission_archive(folder: Path) -> bytes:
    """A tar of the submission's regular files, as every program in the sandbox can read them.

    Symlinks are left out, never followed (they could point anywhere on this machine);
    so are FIFOs and devices. Modes are normalised (0644, or 0755 where any execute bit is
    set; folders 0755), owner root: a file its student made 0600 still runs.
    """
    buffer = io.BytesIO()
    total = entries = 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if d not in _NOT_COPIED and not (here / d).is_symlink())
            entries += len(dirnames) + len(filenames)
            if entries > MAX_COPY_FILES:
                raise SandboxError(
                    f"the submission holds more than {MAX_COPY_FILES} files and folders; "
                    "hand in the programs, not a whole project or its build output"
                )
            for name in dirnames:
                info = tarfile.TarInfo((here / name).relative_to(folder).as_posix())
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            for name in sorted(filenames):
                data, mode = _read_regular(here / name)
                if data is None:
                    continue
                total += len(data)
                if total > MAX_COPY_BYTES:
                    raise SandboxError(
                        f"the submission holds more than {MAX_COPY_BYTES >> 20} MiB of files; "
                        "leave out data files, virtualenvs and build output"
                    )
                info = tarfile.TarInfo((here / name).relative_to(folder).as_posix())
                info.size, info.mode = len(data), 0o755 if mode & 0o111 else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _read_regular(path: Path) -> tuple[bytes | None, int]:
    """The bytes of a regular file, opened without following a symlink; None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None, 0  # a symlink (ELOOP), or a file even the grader may not read
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return None, 0
        return file.read(MAX_COPY_BYTES + 1), mode


def copy_submission(client: docker.DockerClient, image: str, folder: Path, labels: dict[str, str]) -> str:
    """A new labelled volume holding `submission_archive(folder)`; its name.

    Docker unpacks the archive into the volume through a container that is created and
    never started: nothing runs, and the grader needs no write access to Docker's storage.
    """
    archive = submission_archive(folder)
    try:
        volume = client.api.create_volume(labels=labels)["Name"]
        loader = client.api.create_container(
            image,
            ["true"],
            labels={**labels, "socketlab.role": "loader"},
            host_config=client.api.create_host_config(
                binds={volume: {"bind": "/submission", "mode": "rw"}}, network_mode="none", read_only=True
            ),
        )["Id"]
        try:
            client.api.put_archive(loader, "/submission", archive)
        finally:
            client.api.remove_container(loader, force=True)
    except ImageNotFound:
        raise SandboxError(f"Docker image {image} is missing. Fix: run `make image`.") from None
    except DockerException as exc:
        raise SandboxError(f"Docker could not copy the submission into its volume: {exc}") from None
    return volume


def engine_client(timeout: float = 30) -> docker.DockerClient:
    """The grader's one way to open the Docker engine (configured by DOCKER_HOST and friends, as docker's CLI is)."""
    return without_proxies(docker.from_env(timeout=timeout))


def without_proxies(client: docker.DockerClient) -> docker.DockerClient:
    """The engine's HTTP session stops reading proxy settings from the environment.

    requests reads them on every call by iterating os.environ, which races with pytest
    setting and removing PYTEST_CURRENT_TEST in the main thread while lanes talk to the
    engine: a KeyError that cost a loaded grading its check. The engine is a local socket;
    no proxy applies to it.
    """
    client.api.trust_env = False
    return client


def docker_problem(image: str | None = None) -> str | None:
    """None when Docker can run student programs; otherwise what is wrong and how to fix it."""
    try:
        client = engine_client(timeout=10)
        client.ping()
    except DockerException as exc:
        return (
            f"Docker engine not reachable ({exc.__class__.__name__}). Fix: start Docker "
            "(`make engine` does it on Debian as root), or grade with --sandbox local."
        )
    try:
        client.images.get(image or DEFAULT_IMAGE)
    except ImageNotFound:
        return f"Docker image {image or DEFAULT_IMAGE} is missing. Fix: run `make image`."
    except DockerException as exc:
        return f"Docker image check failed: {exc}"
    finally:
        client.close()
    if sys.platform != "linux":
        # Both ways in need the engine's kernel to be ours: a namespace to enter, or a Unix
        # socket that can carry file descriptors between the container and us.
        return NO_LOOPBACK_REACH
    return None


# What a call to the engine raises when the engine fails or is too slow to answer (a read
# timeout of the HTTP API on an overloaded machine): never the student's doing.
ENGINE_ERRORS = (DockerException, requests.exceptions.RequestException)


@contextlib.contextmanager
def _engine(doing: str):
    try:
        yield
    except NotFound:
        raise  # an answer: the container is gone
    except ENGINE_ERRORS as exc:
        raise SandboxError(f"the Docker engine failed while {doing}: {exc}") from None


# Containers the engine is asked to start at once, per sandbox: starting is the engine's CPU,
# so more at once finish no sooner in all, and each later. Lanes ask in the order of their
# checks, so the first lanes (the servers', the longest) get theirs first.
STARTS_AT_ONCE = 2
REMOVE_ATTEMPTS = 3  # each waits up to the client's timeout (30 s) for a busy engine


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep_leftovers(client: docker.DockerClient, everything: bool = False) -> int:
    """Remove labelled containers, volumes and networks whose grader process on this host is gone.

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
    # Volumes and networks last: Docker refuses to remove one that a container still uses.
    for volume in client.api.volumes(filters={"label": LABEL}).get("Volumes") or []:
        if orphaned(volume.get("Labels") or {}):
            try:
                client.api.remove_volume(volume["Name"], force=True)
                removed += 1
            except (NotFound, APIError):
                pass
    # Networks: graders before the loopback-only sandbox made one per run.
    for network in client.api.networks(filters={"label": LABEL}):
        if orphaned(network.get("Labels") or {}):
            try:
                client.api.remove_network(network["Id"])
                removed += 1
            except (NotFound, APIError):
                pass
    return removed


class DockerSandbox:
    name = "docker"
    sandboxed = True

    def __init__(self, image: str | None = None, netns: str = "auto"):
        self.image = image or DEFAULT_IMAGE
        self.netns = netns_entry(netns)
        self.network = "loopback only: student programs reach the grader and nothing else; the grader " + (
            "enters each container's network namespace"
            if self.netns == "setns"
            else "gets its sockets from a relay container inside each one"
        )
        try:
            self.client = engine_client()
        except DockerException as exc:
            raise SandboxError(f"Docker engine not reachable: {exc}") from None
        self.run_id = uuid.uuid4().hex[:12]
        self.labels = {LABEL: "1", OWNER_LABEL: _owner(), "socketlab.run": self.run_id}
        with contextlib.suppress(*ENGINE_ERRORS):  # best effort: what it misses, a later sweep removes
            sweep_leftovers(self.client)
        self._copies: dict[Path, str] = {}  # submission folder -> volume holding its readable copy
        self._containers: list = []
        self._idle: dict[tuple, list[LauncherContainer]] = {}  # (folder, role, host names) -> clean, idle containers
        self._containers_lock = threading.Lock()  # the engine may run checks side by side
        self._copying = threading.Lock()  # held while a submission is copied into its volume
        self._starting = threading.BoundedSemaphore(STARTS_AT_ONCE)

    def start_server(self, submission_path: Path, program: Program, port: int) -> ServerRun:
        """`program` as a new process in its role's idle container, or a new one: a crash costs a process."""
        key = (submission_path.resolve(), program.role, ())
        container = self._borrow(key) or self._launcher_container(
            ServerContainer,
            submission_path,
            program.role,
            # `gethostbyname(gethostname())` then names the address the grader reaches, as on a real host.
            hostname=SANDBOX_HOSTNAME,
            extra_hosts={SANDBOX_HOSTNAME: HOST_ADDRESS},
        )
        if not isinstance(container, ServerContainer):
            raise SandboxError("a server's container was lent as a client's")
        try:
            return container.serve(program.command, port, STUDENT_UID, lambda used: self._give_back(key, used))
        except BaseException:
            self._retire(container)
            raise

    @contextlib.contextmanager
    def peer_network(
        self, submission_path: Path, role: Role, names: Collection[str], lifetime: float
    ) -> Iterator[PeerNetwork]:
        """The loopback of a client's container (grader.sandbox.client_container), lent for one run.

        Each run of a client role of a submission borrows an idle container of that role, or
        a new one; a container goes back for the next run only if its last run left nothing
        behind. Its hosts file maps `names` to the peer. `lifetime` is not needed: the
        launcher ends with the grader's connection to it.
        """
        key = (submission_path.resolve(), role, tuple(names))
        borrowed = self._borrow(key) or self._launcher_container(
            ClientContainer, submission_path, role, extra_hosts=dict.fromkeys(names, "127.0.0.1")
        )
        if not isinstance(borrowed, ClientContainer):
            raise SandboxError("a client's container was lent as a server's")
        try:
            yield PeerNetwork("127.0.0.1", borrowed.make_socket, borrowed)
        except BaseException:
            # The peer could not be served there (a port the last run left taken, say): the
            # run that confirms this one gets a new container.
            borrowed.reusable = False
            raise
        finally:
            self._give_back(key, borrowed)

    def _borrow(self, key: tuple) -> LauncherContainer | None:
        """An idle container of `key` (submission folder, role, host names) whose launcher still takes orders."""
        borrowed, dead = None, []
        with self._containers_lock:
            idle = self._idle.get(key, [])
            while idle and borrowed is None:
                candidate = idle.pop()
                if candidate.alive():
                    borrowed = candidate
                else:
                    dead.append(candidate)
        for candidate in dead:  # outside the lock, which removing a container takes
            self._retire(candidate)
        return borrowed

    def _give_back(self, key: tuple, used: LauncherContainer) -> None:
        """Keep a container whose last run left nothing behind for the next run of its role; remove any other."""
        if used.reusable:
            with self._containers_lock:
                self._idle.setdefault(key, []).append(used)
        else:
            self._retire(used)

    def _launcher_container(self, kind: type[L], submission_path: Path, role: Role, **extra) -> L:
        """A new container of `role` whose first process is the launcher, connected to."""
        container = self._start(
            ["python3", "-I", "-S", "-c", LAUNCHER, str(LAUNCHER_WAIT)],
            init=False,  # the launcher is the container's init: see grader.sandbox.launcher
            volumes=self._submission_mount(submission_path),
            network_mode="none",
            labels=self._labels(role.value, submission_path),
            **extra,
        )
        sockets: SocketMaker | None = None
        try:
            sockets = self._sockets_in(container)
            pid = container.attrs["State"]["Pid"]
            usage = CgroupUsage.of(pid)
            return kind(container, pid, sockets, usage.pids if usage is not None else lambda: None, LAUNCHER_WAIT / 2)
        except BaseException:
            if sockets is not None:
                sockets.close()
            self._remove(container)
            raise

    def _retire(self, used: LauncherContainer) -> None:
        used.close()
        self._remove(used.handle)

    def run_program(
        self,
        submission_path: Path,
        program: Program,
        stdin: bytes,
        network: PeerNetwork,
        budget: float,
        peer_quiet: PeerQuiet | None = None,
    ) -> ProgramRun:
        """One run of `program` in the network's container, with `stdin` on a pipe."""
        client = network.handle
        if not isinstance(client, ClientContainer):
            raise SandboxError("the client's container has no network the grader can reach")
        return client.run(program.command, stdin, budget, peer_quiet)

    def _labels(self, role: str, submission_path: Path) -> dict[str, str]:
        # The submission's folder name lets an instructor (and the tests) tell whose container it is.
        return {**self.labels, "socketlab.role": role, SUBMISSION_LABEL: submission_path.name}

    def _sockets_in(self, container) -> SocketMaker:
        """The grader's way to make sockets inside `container`'s network namespace."""
        try:
            container.reload()
            pid = container.attrs["State"]["Pid"]
        except DockerException as exc:
            raise SandboxError(f"cannot find the container's network: {exc}") from None
        if not pid:
            raise SandboxError("the container is not running, so its network cannot be reached")
        if self.netns == "relay":
            return self._relay(container)
        try:
            return NamespaceSockets(pid)
        except OSError as exc:
            raise SandboxError(f"cannot reach into the container's network: {exc}") from None

    def _relay(self, container) -> SocketMaker:
        """A trusted container in `container`'s network that passes us sockets made there."""
        # The channel folder sits in a folder only we may enter: whoever may reach the Unix
        # socket could hand us sockets of its own.
        outer = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-relay-")
        channel = os.path.join(outer, "channel")
        os.mkdir(channel, 0o700)
        root = os.getuid() == 0
        uid, gid = (RELAY_UID, RELAY_UID) if root else (os.getuid(), os.getgid())  # never root, never the student
        if root:
            os.chown(channel, uid, gid)
        try:
            relay = self._start(
                ["python3", "-I", "/relay/socket_relay.py", "/channel/socket", str(RELAY_LIFETIME)],
                user=f"{uid}:{gid}",
                network_mode=f"container:{container.id}",
                volumes={
                    str(RELAY_CODE.parent): {"bind": "/relay", "mode": "ro"},
                    channel: {"bind": "/channel", "mode": "rw"},
                },
                labels={**self.labels, "socketlab.role": "relay"},
            )
        except BaseException:
            shutil.rmtree(outer, ignore_errors=True)
            raise

        def close() -> None:
            self._remove(relay)
            shutil.rmtree(outer, ignore_errors=True)

        return RelaySockets(os.path.join(channel, "socket"), close)

    def _submission_mount(self, submission_path: Path) -> dict:
        """A read-only volume holding a copy every program can read: see copy_submission.

        One copy per folder, however many lanes ask for it at once: the first copies, the
        others wait for it (a copy each would cost the engine a volume and a container more
        per lane, and leave all but one volume behind).
        """
        folder = submission_path.resolve()
        with self._copying:
            volume = self._copies.get(folder)
            if volume is None:
                with _engine("copying the submission into a volume"):
                    volume = copy_submission(self.client, self.image, folder, self._labels("submission", folder))
                self._copies[folder] = volume
        return {volume: {"bind": "/submission", "mode": "ro"}}

    def _remove(self, container) -> None:
        """Remove a container, trying again while the engine is too busy to answer; never raises.

        One the engine did not remove stays on the list `close` works through (and carries
        the labels a later sweep finds): a program left running, a fork bomb say, would keep
        a core busy under the next gradings.
        """
        for _ in range(REMOVE_ATTEMPTS):
            try:
                container.remove(force=True)
            except NotFound:
                pass
            except ENGINE_ERRORS:
                continue
            with self._containers_lock:
                if container in self._containers:
                    self._containers.remove(container)
            return

    def _start(self, command: list[str], user: str = f"{STUDENT_UID}:{STUDENT_UID}", init: bool = True, **extra):
        try:
            with self._starting:
                container = self._run(command, user, init, **extra)
        except ImageNotFound:
            raise SandboxError(f"Docker image {self.image} is missing. Fix: run `make image`.") from None
        except ENGINE_ERRORS as exc:
            raise SandboxError(f"Docker could not start the container: {exc}") from None
        with self._containers_lock:
            self._containers.append(container)
        return container

    def _run(self, command: list[str], user: str, init: bool, **extra):
        return self.client.containers.run(
            self.image,
            command,
            detach=True,
            user=user,
            working_dir="/submission",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            tmpfs={"/tmp": TMPFS},
            pids_limit=PIDS,
            mem_limit=MEMORY,
            memswap_limit=MEMORY,
            nano_cpus=NANO_CPUS,
            init=init,
            ulimits=[Ulimit(name="nofile", soft=NOFILE, hard=NOFILE), Ulimit(name="fsize", soft=FSIZE, hard=FSIZE)],
            log_config=LogConfig(type="json-file", config={"max-size": LOG_MAX, "max-file": "1"}),
            **extra,
        )

    def close(self) -> None:
        with self._containers_lock:
            idle = [used for containers in self._idle.values() for used in containers]
            self._idle.clear()
        for used in idle:
            used.close()
        with self._containers_lock:
            remaining = list(self._containers)
        for container in remaining:
            self._remove(container)  # what it cannot remove, the start-up sweep of a later run does
        for volume in self._copies.values():
            try:
                self.client.api.remove_volume(volume, force=True)
            except ENGINE_ERRORS:
                pass  # the start-up sweep of a later run removes it
        self.client.close()
