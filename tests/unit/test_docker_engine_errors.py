"""An engine that fails or is too slow to answer is the grader's problem, reported as such, never the student's."""

from __future__ import annotations

import os

import docker
import pytest
import requests
from docker.errors import NotFound

from grader.sandbox import SandboxError
from grader.sandbox.docker import _engine, without_proxies


def test_an_engine_that_does_not_answer_in_time_becomes_a_sandbox_error_that_says_what_it_was_doing():
    with pytest.raises(SandboxError, match=r"the Docker engine failed while starting things: .*Read timed out"):
        with _engine("starting things"):
            raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)")


def test_a_container_that_is_gone_is_an_answer_not_an_engine_failure():
    with pytest.raises(NotFound):
        with _engine("asking"):
            raise NotFound("no such container")


class RacingEnvironment(dict):
    """os.environ at the moment pytest removes PYTEST_CURRENT_TEST in another thread: listed, then gone."""

    def __iter__(self):
        yield from [*super().__iter__(), "PYTEST_CURRENT_TEST"]

    def items(self):
        return [(key, self[key]) for key in self]


def test_a_lane_talking_to_the_engine_never_reads_the_environment_pytest_is_changing(monkeypatch):
    client = without_proxies(docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41"))
    monkeypatch.setattr(os, "environ", RacingEnvironment(PATH="/usr/bin"))
    settings = client.api.merge_environment_settings(
        "http+docker://localhost/v1.41/containers/json", {}, None, None, None
    )
    assert settings["proxies"] == {}
