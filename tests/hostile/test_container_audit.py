"""An audit of every container the grader starts: `docker inspect` must show the DESIGN.md limits.

The grader runs the reference (all four roles, so servers and clients) while every
container it starts is inspected the moment it exists. (The loader that fills a
submission's volume is created and removed, never started.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.discover import discover
from grader.engine import Grading
from grader.sandbox.docker import DockerSandbox
from grader.spec import load_assignment

REFERENCE = Path(__file__).resolve().parents[2] / "reference"


class AuditedSandbox(DockerSandbox):
    """Records `docker inspect` of each container right after it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.inspected: list[dict] = []

    def _start(self, command, **extra):
        container = super()._start(command, **extra)
        self.inspected.append(self.client.api.inspect_container(container.id))
        return container


@pytest.fixture(scope="module")
def inspected(docker_ready) -> list[dict]:
    assignment = load_assignment("uppercase")
    sandbox = AuditedSandbox()
    grading = Grading(discover(REFERENCE), assignment, sandbox, assignment.seed)
    try:
        for check in assignment.checks:
            grading.run(check)
    finally:
        grading.close()
        sandbox.close()
    return sandbox.inspected


def _name(attrs: dict) -> str:
    return f"{attrs['Name']} ({attrs['Config']['Labels'].get('socketlab.role')})"


def test_the_audit_saw_servers_and_clients(inspected):
    roles = {attrs["Config"]["Labels"].get("socketlab.role") for attrs in inspected}
    assert {"udp_server", "tcp_server", "udp_client", "tcp_client"} <= roles


def test_no_container_is_privileged_or_runs_as_root(inspected):
    for attrs in inspected:
        assert not attrs["HostConfig"]["Privileged"], _name(attrs)
        user = attrs["Config"]["User"].split(":")[0]
        assert user not in ("", "0", "root"), _name(attrs)


def test_every_capability_is_dropped_and_privileges_cannot_grow(inspected):
    for attrs in inspected:
        host = attrs["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], _name(attrs)
        assert "no-new-privileges" in (host["SecurityOpt"] or []), _name(attrs)


def test_every_container_has_its_limits(inspected):
    for attrs in inspected:
        host = attrs["HostConfig"]
        assert 0 < host["PidsLimit"] <= 64, _name(attrs)
        assert 0 < host["Memory"] <= 256 << 20 and host["MemorySwap"] == host["Memory"], _name(attrs)
        assert 0 < host["NanoCpus"] <= 1_000_000_000, _name(attrs)
        assert {u["Name"] for u in host["Ulimits"] or []} >= {"nofile", "fsize"}, _name(attrs)
        assert host["LogConfig"]["Config"].get("max-size"), _name(attrs)
        # An init reaps and stops what a program leaves: a student container's own launcher, or docker-init.
        assert host["Init"] is not _students(attrs), _name(attrs)


def test_every_root_filesystem_is_read_only(inspected):
    for attrs in inspected:
        assert attrs["HostConfig"]["ReadonlyRootfs"], _name(attrs)
        for mount in attrs["Mounts"]:
            assert not mount.get("RW", False) or mount["Type"] == "tmpfs", f"{_name(attrs)}: {mount}"


def test_no_container_mounts_the_docker_socket(inspected):
    for attrs in inspected:
        sources = [m.get("Source", "") for m in attrs["Mounts"]]
        assert not any(s.endswith("docker.sock") for s in sources), _name(attrs)


def test_no_port_is_published(inspected):
    for attrs in inspected:
        assert not attrs["HostConfig"]["PortBindings"], _name(attrs)


def test_every_container_has_loopback_only(inspected):
    for attrs in inspected:
        assert attrs["HostConfig"]["NetworkMode"] == "none", _name(attrs)
        assert set(attrs["NetworkSettings"]["Networks"]) <= {"none"}, _name(attrs)


def _students(attrs: dict) -> bool:
    return attrs["Config"]["Labels"].get("socketlab.role", "").endswith(("_client", "_server"))


def test_every_student_container_starts_the_launcher_not_the_students_program(inspected):
    students = [attrs for attrs in inspected if _students(attrs)]
    assert len(students) >= 4
    for attrs in students:
        assert attrs["Path"] == "python3" and attrs["Args"][:3] == ["-I", "-S", "-c"], _name(attrs)
        assert "CONTROL_PORT" in attrs["Args"][3], _name(attrs)


def test_no_container_is_given_a_dns_server_or_extra_network_setting(inspected):
    for attrs in inspected:
        host = attrs["HostConfig"]
        assert not host.get("Dns") and not host.get("Links") and not host.get("PublishAllPorts"), _name(attrs)


def test_programs_see_the_submission_only_as_a_read_only_volume_never_a_host_folder(inspected):
    for attrs in inspected:
        for mount in attrs["Mounts"]:
            assert mount["Type"] == "volume" and mount["RW"] is False, f"{_name(attrs)}: {mount}"
            assert mount["Destination"] == "/submission", f"{_name(attrs)}: {mount}"
        assert not attrs["HostConfig"]["Binds"] or all(not b.startswith("/") for b in attrs["HostConfig"]["Binds"]), (
            _name(attrs)
        )
