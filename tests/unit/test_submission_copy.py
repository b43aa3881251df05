"""The copy of a submission that programs see in Docker: every file readable, no link followed."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from grader.sandbox import SandboxError
from grader.sandbox import docker as docker_sandbox
from grader.sandbox.docker import submission_archive


def _members(folder: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(submission_archive(folder))) as tar:
        return {info.name: info for info in tar.getmembers()}


def _content(folder: Path, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(submission_archive(folder))) as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "alice"
    (folder / "lab").mkdir(parents=True)
    (folder / "UDPServer.py").write_text("print('server')\n")
    (folder / "lab" / "UDPClient.py").write_text("print('client')\n")
    return folder


def test_files_and_folders_are_copied_with_their_bytes(submission):
    assert set(_members(submission)) == {"UDPServer.py", "lab", "lab/UDPClient.py"}
    assert _content(submission, "lab/UDPClient.py") == b"print('client')\n"


def test_a_file_only_its_owner_may_read_becomes_readable_to_every_program(submission):
    os.chmod(submission / "UDPServer.py", 0o600)
    os.chmod(submission / "lab", 0o700)
    members = _members(submission)
    assert members["UDPServer.py"].mode == 0o644
    assert members["lab"].mode == 0o755


def test_an_executable_file_stays_executable(submission):
    os.chmod(submission / "UDPServer.py", 0o700)
    assert _members(submission)["UDPServer.py"].mode == 0o755


def test_every_member_belongs_to_root_so_no_host_user_shows(submission):
    assert {(info.uid, info.gid, info.uname) for info in _members(submission).values()} == {(0, 0, "")}


def test_symlinked_files_and_folders_are_left_out_never_followed(submission, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("a file of the grading machine\n")
    (submission / "notes.txt").symlink_to(secret)
    (submission / "etc").symlink_to("/etc")
    members = _members(submission)
    assert "notes.txt" not in members and not any(name.startswith("etc") for name in members)
    assert b"grading machine" not in submission_archive(submission)


def test_a_fifo_is_left_out_instead_of_blocking_the_copy(submission):
    os.mkfifo(submission / "pipe")
    assert "pipe" not in _members(submission)


def test_installed_and_generated_folders_are_not_copied(submission):
    for folder in ("__pycache__", ".git", "venv"):
        (submission / folder).mkdir()
        (submission / folder / "x.py").write_text("x = 1\n")
    assert set(_members(submission)) == {"UDPServer.py", "lab", "lab/UDPClient.py"}


def test_a_submission_beyond_the_size_cap_is_refused_with_the_fix(submission, monkeypatch):
    monkeypatch.setattr(docker_sandbox, "MAX_COPY_BYTES", 10)
    with pytest.raises(SandboxError, match="leave out data files"):
        submission_archive(submission)


def test_a_submission_with_more_files_than_the_cap_is_refused_with_the_fix(submission, monkeypatch):
    monkeypatch.setattr(docker_sandbox, "MAX_COPY_FILES", 2)
    with pytest.raises(SandboxError, match="hand in the programs"):
        submission_archive(submission)
