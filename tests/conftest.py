"""Fixtures shared by the grader's own tests: the repo layout and a Docker engine when there is one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from junit_conformance import Conformance

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "examples"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Skip only where this machine truly has no usable Docker (CI always has it: .ci/run sets it up)."""
    from grader.sandbox.docker import docker_problem

    problem = docker_problem()
    if problem is not None:
        pytest.skip(f"needs Docker, which this machine lacks: {problem}")


@pytest.fixture(scope="session")
def schema() -> Conformance:
    """What every JUnit file must pass: the project's structural rules, and Jenkins' schema where it is present."""
    return Conformance()


@pytest.fixture
def dead_pid() -> int:
    """The PID of a process that has ended: the owner of what a killed grader left behind."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
