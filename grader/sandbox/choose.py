"""Which sandbox grades: the one rule behind `--sandbox auto|docker|local`, for the CLI and the pytest plugin alike."""

from __future__ import annotations

from grader.sandbox import Sandbox, SandboxError
from grader.sandbox.docker import DockerSandbox, docker_problem
from grader.sandbox.local import LocalSandbox

CHOICES = ("auto", "docker", "local")


def choose_sandbox(requested: str, image: str | None = None) -> str:
    """`auto` is Docker when the engine answers and has the image, local processes otherwise.

    SandboxError, saying what is wrong and how to fix it, when `docker` was asked for and
    cannot run student programs.
    """
    if requested not in CHOICES:
        raise SandboxError(f"unknown sandbox {requested!r}: use {', '.join(CHOICES)}")
    if requested == "local":
        return "local"
    problem = docker_problem(image)
    if problem is None:
        return "docker"
    if requested == "docker":
        raise SandboxError(problem)
    return "local"


def open_sandbox(requested: str, image: str | None = None, netns: str = "auto") -> Sandbox:
    if choose_sandbox(requested, image) == "docker":
        return DockerSandbox(image, netns)
    return LocalSandbox()
