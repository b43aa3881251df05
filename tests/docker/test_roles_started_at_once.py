"""Roles that start at the same moment share one copy of the submission, and the engine starts few containers at once.

The lanes of a grading start their containers side by side, and each needs the copy; a
copy per lane would cost the engine a volume and a loader container each, and leave all
but one volume behind until a later run swept them. Starting a container is the engine's
CPU: more at once finish no sooner, and the first lanes' (the servers') later.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.model import Program, Role
from grader.sandbox.docker import STARTS_AT_ONCE, DockerSandbox

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready")]

ROLES = 4  # one container each, started at once


def test_roles_started_at_once_share_one_copy_of_the_submission(tmp_path: Path):
    (tmp_path / "idle.py").write_text("import time\ntime.sleep(600)\n")
    sandbox = DockerSandbox()
    try:

        def start(port: int):
            return sandbox.start_server(tmp_path, Program(Role.UDP_SERVER, ("python3", "idle.py")), port)

        with ThreadPoolExecutor(ROLES) as pool:
            servers = list(pool.map(start, range(12000, 12000 + ROLES)))
        volumes = sandbox.client.volumes.list(filters={"label": f"socketlab.run={sandbox.run_id}"})
        for server in servers:
            server.stop()
    finally:
        sandbox.close()

    assert len(servers) == ROLES and len({server._container for server in servers}) == ROLES
    assert len(volumes) == 1


def test_the_engine_is_asked_to_start_at_most_starts_at_once_containers_at_a_time(tmp_path: Path):
    (tmp_path / "idle.py").write_text("import time\ntime.sleep(600)\n")
    sandbox = DockerSandbox()
    running, most, lock = [0], [0], threading.Lock()
    run = sandbox._run

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return run(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    sandbox._run = counted  # type: ignore[method-assign]
    try:

        def start(port: int):
            return sandbox.start_server(tmp_path, Program(Role.UDP_SERVER, ("python3", "idle.py")), port)

        with ThreadPoolExecutor(ROLES) as pool:
            servers = list(pool.map(start, range(12000, 12000 + ROLES)))
        for server in servers:
            server.stop()
    finally:
        sandbox.close()

    assert len(servers) == ROLES and 1 <= most[0] <= STARTS_AT_ONCE
