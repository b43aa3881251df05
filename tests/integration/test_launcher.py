"""The launcher a client's container starts: its framing, and its refusal to run anywhere but there.

Its work inside a container (runs, output, cleaning between runs) is tested in Docker:
tests/docker/test_client_container.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.sandbox.docker import LAUNCHER
from grader.sandbox.launcher import EXITED, GONE, MAX_FRAME, RUN, STDOUT, Frames, exit_status, frame


def test_a_frame_cut_anywhere_comes_out_whole_once_its_last_byte_arrives():
    sent = frame(RUN, b'{"argv": ["python3"]}') + frame(STDOUT, b"")
    frames = Frames()
    found = [f for cut in range(len(sent)) for f in frames.feed(sent[cut : cut + 1])]
    assert found == [(RUN, b'{"argv": ["python3"]}'), (STDOUT, b"")]


def test_frames_that_arrive_together_come_out_in_order():
    assert Frames().feed(frame(STDOUT, b"a") + frame(EXITED, b"{}")) == [(STDOUT, b"a"), (EXITED, b"{}")]


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_buffered():
    with pytest.raises(ValueError, match="frame of"):
        Frames().feed(frame(STDOUT, b"")[:1] + (MAX_FRAME + 1).to_bytes(4, "big"))


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-9, 137), (-15, 143)])
def test_a_program_killed_by_signal_n_ends_with_128_plus_n_as_under_docker_init(returncode, status):
    assert exit_status(returncode) == status


def test_outside_a_containers_init_the_launcher_refuses_to_start_since_kill_minus_one_would_reach_the_machine():
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAUNCHER, "5"], capture_output=True, timeout=30, check=False
    )
    assert done.returncode == GONE
    assert b"only as the first program of a student's container" in done.stderr
