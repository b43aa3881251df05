"""Scratch folders carry their owner's PID: a sweep removes those of dead processes and keeps the living's."""

from __future__ import annotations

import os

from grader.scratch import PREFIX, scratch_dir, sweep_scratch


def test_a_scratch_folder_is_named_after_its_owner_and_removed_after_use():
    with scratch_dir("alice") as folder:
        assert os.path.basename(folder).startswith(f"{PREFIX}{os.getpid()}-alice-")
        assert os.path.isdir(folder)
    assert not os.path.exists(folder)


def test_the_sweep_removes_the_folders_of_dead_owners_only(tmp_path, dead_pid):
    orphan = tmp_path / f"{PREFIX}{dead_pid}-bob-x1"
    live = tmp_path / f"{PREFIX}{os.getpid()}-carla-x2"
    stranger = tmp_path / f"{PREFIX}not-ours"
    for folder in (orphan, live, stranger):
        (folder / "inner").mkdir(parents=True)

    assert sweep_scratch(root=tmp_path) == 1

    assert not orphan.exists() and live.exists() and stranger.exists()


def test_the_sweep_of_everything_removes_live_owners_folders_too(tmp_path):
    live = tmp_path / f"{PREFIX}{os.getpid()}-carla-x2"
    live.mkdir()

    assert sweep_scratch(everything=True, root=tmp_path) == 1

    assert not live.exists()
