"""The pool of idle student containers, without Docker: a dead one found at borrow time is removed, never a hang."""

from __future__ import annotations

import threading
from pathlib import Path

from grader.model import Role
from grader.sandbox.client_container import ClientContainer
from grader.sandbox.docker import DockerSandbox


class Handle:
    def __init__(self, removed: list[str], name: str):
        self._removed, self._name = removed, name

    def remove(self, force: bool) -> None:
        self._removed.append(self._name)


class IdleClient(ClientContainer):
    def __init__(self, removed: list[str], name: str, alive: bool):  # no launcher to connect to
        self.handle = Handle(removed, name)
        self.reusable = alive
        self._alive = alive
        self.make_socket = None  # type: ignore[assignment]

    def alive(self) -> bool:
        return self._alive

    def close(self) -> None:
        self.reusable = False


def pool_of(clients: list[IdleClient], folder: Path) -> DockerSandbox:
    """A DockerSandbox with only its pool: no engine is opened."""
    sandbox = DockerSandbox.__new__(DockerSandbox)
    sandbox._containers_lock = threading.Lock()
    sandbox._containers = []
    sandbox._idle = {(folder.resolve(), Role.UDP_CLIENT, ("hostname",)): list(clients)}
    return sandbox


def borrow(sandbox: DockerSandbox, folder: Path) -> object:
    with sandbox.peer_network(folder, Role.UDP_CLIENT, ("hostname",), 1.0) as network:
        return network.handle


def test_an_idle_container_whose_launcher_is_gone_is_removed_and_the_next_live_one_is_lent(tmp_path):
    removed: list[str] = []
    live, dead = IdleClient(removed, "live", True), IdleClient(removed, "dead", False)
    sandbox = pool_of([live, dead], tmp_path)
    lent: list[object] = []
    borrowing = threading.Thread(target=lambda: lent.append(borrow(sandbox, tmp_path)), daemon=True)
    borrowing.start()
    borrowing.join(5)
    assert not borrowing.is_alive(), "borrowing hung"
    assert lent == [live] and removed == ["dead"]
