"""Which students a run covers: folders and zips, shards by name hash, --only."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.roster import ALL, Entry, RosterError, Shard, find_submissions, parse_shard, select


def _entries(names):
    return [Entry(name, Path("/nowhere", name)) for name in names]


def test_folders_and_zips_are_submissions_and_other_files_are_not(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "README.md").write_text("not a student")
    with zipfile.ZipFile(tmp_path / "Bob.zip", "w") as archive:
        archive.writestr("bob/UDPServer.py", "")
    found = find_submissions(tmp_path)
    assert [(e.name, e.is_zip) for e in found] == [("alice", False), ("Bob", True)]


def test_a_folder_and_a_zip_of_one_name_are_both_graded_under_two_names_that_say_so(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    found = find_submissions(tmp_path)
    assert [(e.name, e.path.name) for e in found] == [("alice", "alice"), ("alice.zip", "alice.zip")]
    assert "keep one of them" in found[1].notes[0]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(RosterError, match="nowhere: no such folder"):
        find_submissions(tmp_path / "nowhere")


def test_shards_split_the_class_into_disjoint_parts_that_cover_it():
    names = [f"student{i:03d}" for i in range(200)]
    shards = [Shard(i, 4) for i in range(1, 5)]
    parts = [{n for n in names if shard.includes(n)} for shard in shards]
    assert set().union(*parts) == set(names)
    assert sum(map(len, parts)) == len(names)
    assert all(30 < len(part) < 70 for part in parts)  # a hash spreads them, roughly evenly


def test_adding_a_student_moves_no_one_else():
    names = [f"student{i:03d}" for i in range(100)]
    before = {n: next(i for i in range(1, 6) if Shard(i, 5).includes(n)) for n in names}
    after = {n: next(i for i in range(1, 6) if Shard(i, 5).includes(n)) for n in ["aaron", *names]}
    assert {n: after[n] for n in names} == before


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused_with_the_fix(text):
    with pytest.raises(RosterError, match="write I/N"):
        parse_shard(text)


def test_parse_shard():
    assert parse_shard("2/4") == Shard(2, 4)


def test_only_grades_the_named_students_of_the_scope():
    entries = _entries(["alice", "bob", "carla"])
    scope, todo = select(entries, ALL, ["carla", "alice"])
    assert [e.name for e in scope] == ["alice", "bob", "carla"]
    assert [e.name for e in todo] == ["alice", "carla"]


def test_only_with_an_unknown_name_is_refused():
    with pytest.raises(RosterError, match="--only zed"):
        select(_entries(["alice"]), ALL, ["zed"])
