"""`grader clean`: containers of dead graders go, those of live ones stay (unless --all)."""

from __future__ import annotations

import os
import socket

import docker
import pytest
from docker.errors import NotFound

from grader import cli
from grader.sandbox.docker import DEFAULT_IMAGE, LABEL, OWNER_LABEL, sweep_leftovers


@pytest.mark.docker
def test_clean_removes_the_containers_of_dead_graders_only(docker_ready, capsys, dead_pid):
    client = docker.from_env()
    started = []
    try:
        for pid in (dead_pid, os.getpid()):
            started.append(
                client.containers.run(
                    DEFAULT_IMAGE,
                    ["python3", "-c", "import time; time.sleep(120)"],
                    detach=True,
                    labels={LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{pid}"},
                )
            )
        orphan, live = started
        assert cli.main(["clean"]) == 0
        with pytest.raises(NotFound):
            client.containers.get(orphan.id)
        client.containers.get(live.id)  # its grader (this test) is alive
        assert "removed" in capsys.readouterr().out
    finally:
        for container in started:
            try:
                container.remove(force=True)
            except NotFound:
                pass
        client.close()


class FakeApi:
    """docker-py's low-level API, as far as `clean --all` uses it."""

    def __init__(self):
        self.removed: list[str] = []
        self.filters: list[dict] = []

    def containers(self, all: bool, filters: dict) -> list[dict]:
        self.filters.append(filters)
        return [{"Id": "c1"}, {"Id": "c2"}]

    def volumes(self, filters: dict) -> dict:
        self.filters.append(filters)
        return {"Volumes": [{"Name": "v1"}]}

    def networks(self, filters: dict) -> list[dict]:
        self.filters.append(filters)
        return [{"Id": "n1"}]

    def remove_volume(self, name: str, force: bool) -> None:
        self.removed.append(name)

    def remove_container(self, container_id: str, force: bool) -> None:
        if container_id == "c2":
            raise NotFound("gone meanwhile")
        self.removed.append(container_id)

    def remove_network(self, network_id: str) -> None:
        self.removed.append(network_id)


def test_clean_all_removes_every_labelled_container_then_volume_then_network():
    client = type("Client", (), {"api": FakeApi()})()
    assert sweep_leftovers(client, everything=True) == 3
    assert client.api.removed == ["c1", "v1", "n1"]
    assert client.api.filters == [{"label": LABEL}] * 3


@pytest.mark.docker
def test_clean_removes_the_submission_volumes_of_dead_graders_only(docker_ready, dead_pid):
    client = docker.from_env()
    made = [
        client.api.create_volume(labels={LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{pid}"})["Name"]
        for pid in (dead_pid, os.getpid())
    ]
    try:
        assert cli.main(["clean"]) == 0
        left = {v["Name"] for v in client.api.volumes(filters={"label": LABEL}).get("Volumes") or []}
        assert made[0] not in left and made[1] in left
    finally:
        for name in made:
            try:
                client.api.remove_volume(name, force=True)
            except NotFound:
                pass
        client.close()
