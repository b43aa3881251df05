"""Correct programs keep full marks, and timing-sensitive examples their verdicts, on a loaded machine.

One round of tests/stress/harness.py: every core busy, a disk writer, and a grading of the
hostile corpus on the same Docker engine, while `grader grade` (default settings) grades
copies of the textbook's programs, the reference and the timing-sensitive examples. The
figures of many rounds, before and after a change, come from running the harness by hand.
"""

from __future__ import annotations

import os

import harness
import pytest

# The round (load, then a class graded beside it) runs in the setup of the first test: beyond
# the suite's per-test limit; the harness bounds it itself (ROUND_LIMIT, 900 s).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def loaded_round(tmp_path_factory, docker_ready) -> harness.RoundResult:
    workdir = tmp_path_factory.mktemp("stress")
    classroom = workdir / "class"
    classroom.mkdir()
    subjects = harness.build_subjects(classroom)
    return harness.run_round(workdir, subjects, classroom, [str(harness.GRADER)], dict(os.environ))


def test_the_load_ran_beside_the_grading(loaded_round):
    assert loaded_round.load_gradings >= 1 and not loaded_round.problems, loaded_round.problems


def test_no_verdict_flips_while_the_machine_is_loaded(loaded_round, capsys):
    with capsys.disabled():
        print(
            f"\nloaded round: {loaded_round.took:.0f} s, {loaded_round.load_gradings} hostile grading(s) beside it, "
            f"{len(loaded_round.errors)} grader error(s): {loaded_round.errors}"
        )
        for line in loaded_round.summary.splitlines():
            print(f"    | {line}")
    assert loaded_round.flips == [], "\n".join(loaded_round.flips)
