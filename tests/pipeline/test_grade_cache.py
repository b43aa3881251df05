"""The cache key: the same inputs give the same key; a change to anything that decides a grade changes it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.cache import Cache, cache_key, submission_digest
from grader.spec import load_assignment

SPEC = """\
name = "mini"
seed = 7
[[checks]]
id = "udp_server.basic"
kind = "udp_exchange"
points = 2
"""


@pytest.fixture
def setup(tmp_path):
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "UDPServer.py").write_text("print('hi')\n")
    spec = tmp_path / "mini.toml"
    spec.write_text(SPEC)
    return submission, spec


def _key(submission: Path, spec: Path, seed: int = 7, environment: str = "docker sha256:1") -> str:
    return cache_key(submission, load_assignment(str(spec)), seed, environment, "grader-1")


def test_the_same_inputs_give_the_same_key(setup, tmp_path):
    submission, spec = setup
    copy = tmp_path / "copy"
    shutil.copytree(submission, copy)
    assert _key(submission, spec) == _key(submission, spec) == _key(copy, spec)


def test_the_key_changes_with_the_submissions_content(setup):
    submission, spec = setup
    before = _key(submission, spec)
    (submission / "UDPServer.py").write_text("print('HI')\n")
    assert _key(submission, spec) != before


def test_the_key_changes_with_an_added_or_renamed_file(setup):
    submission, spec = setup
    before = _key(submission, spec)
    (submission / "notes.txt").write_text("")
    added = _key(submission, spec)
    (submission / "notes.txt").rename(submission / "notes.md")
    assert len({before, added, _key(submission, spec)}) == 3


def test_the_key_changes_with_the_assignment(setup):
    submission, spec = setup
    before = _key(submission, spec)
    spec.write_text(SPEC.replace("points = 2", "points = 3"))
    assert _key(submission, spec) != before


def test_a_comment_in_the_assignment_changes_nothing(setup):
    submission, spec = setup
    before = _key(submission, spec)
    spec.write_text("# the textbook's rules\n" + SPEC)
    assert _key(submission, spec) == before


def test_the_key_changes_with_the_seed_the_environment_and_the_grader(setup):
    submission, spec = setup
    assignment = load_assignment(str(spec))
    keys = {
        cache_key(submission, assignment, 7, "docker sha256:1", "grader-1"),
        cache_key(submission, assignment, 8, "docker sha256:1", "grader-1"),
        cache_key(submission, assignment, 7, "docker sha256:2", "grader-1"),
        cache_key(submission, assignment, 7, "docker sha256:1", "grader-2"),
    }
    assert len(keys) == 4


def test_pycache_written_by_a_local_run_changes_nothing(setup):
    submission, _ = setup
    before = submission_digest(submission)
    (submission / "__pycache__").mkdir()
    (submission / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    assert submission_digest(submission) == before


def test_a_zip_is_keyed_by_its_bytes(tmp_path):
    archive = tmp_path / "bob.zip"
    archive.write_bytes(b"PK one")
    before = submission_digest(archive)
    archive.write_bytes(b"PK two")
    assert submission_digest(archive) != before


def test_cache_hits_only_the_stored_key(tmp_path):
    cache = Cache(tmp_path / "cache")
    assert not cache.hit("alice", "k1")
    cache.store("alice", "k1")
    assert cache.hit("alice", "k1") and not cache.hit("alice", "k2") and not cache.hit("bob", "k1")
    cache.forget("alice")
    assert not cache.hit("alice", "k1")


def test_a_file_name_that_is_not_utf8_still_gives_a_key(tmp_path):
    (tmp_path / "UDPServer.py").write_text("print(1)\n")
    with open(os.fsencode(tmp_path) + b"/\xff\xfe.py", "wb") as file:  # a git clone can hold any bytes
        file.write(b"x")
    assert submission_digest(tmp_path) != submission_digest(tmp_path / "UDPServer.py")
