"""A client that never exits is killed at its budget, and nothing it ran is left behind."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from grader.discover import discover
from grader.model import Role
from grader.sandbox.docker import LABEL, DockerSandbox
from grader.scenarios import client_exchange
from grader.scenarios.scripted_peer import ScriptedServerSpec

HANGING = Path(__file__).resolve().parents[1] / "examples" / "hanging_tcp_client"
BUDGET = 3.0


@pytest.fixture(scope="module")
def hung_run(docker_ready):
    submission = discover(HANGING)
    sandbox = DockerSandbox()
    try:
        run = client_exchange.play(
            sandbox,
            submission.path,
            submission.programs[Role.TCP_CLIENT],
            b"hello\n",
            ScriptedServerSpec("tcp", "normal", 12000, 0.8, 3, 0.15),
            BUDGET,
        )
    finally:
        sandbox.close()
    return run, sandbox.run_id


def test_a_client_that_never_exits_is_reported_as_hung(hung_run):
    run, _ = hung_run
    assert run.hung and "HELLO" in run.stdout


def test_a_hung_client_costs_its_budget_and_not_much_more(hung_run):
    run, _ = hung_run
    # Its budget is its own time: the seconds it spent waiting for a CPU on a busy machine are added.
    assert BUDGET + run.waited <= run.duration + 0.05 < BUDGET + run.waited + 2.0


def test_no_container_or_network_of_the_run_is_left_behind(hung_run):
    _, run_id = hung_run
    client = docker.from_env()
    try:
        selector = {"label": [LABEL, f"socketlab.run={run_id}"]}
        assert client.containers.list(all=True, filters=selector) == []
        assert client.networks.list(filters=selector) == []
    finally:
        client.close()
