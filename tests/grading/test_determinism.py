"""The same submission graded again gets the same score: impairment is seeded, never timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.discover import discover
from grader.engine import Grading
from grader.sandbox.docker import DockerSandbox
from grader.spec import load_assignment

# Its module-scoped grading of many submissions runs in the setup of the first test, which
# the suite's per-test limit (300 s) would otherwise cut short on a busy CI runner.
pytestmark = pytest.mark.timeout(900)
TEXTBOOK = Path(__file__).resolve().parents[1] / "examples" / "textbook_complete"
RUNS = 20


@pytest.fixture(scope="module")
def repeated_outcomes(docker_ready) -> list[tuple[float, tuple[tuple[str, bool], ...]]]:
    """(score, per-check pass/fail) of RUNS gradings of the textbook servers, each with fresh containers."""
    assignment = load_assignment("uppercase")
    submission = discover(TEXTBOOK)
    sandbox = DockerSandbox()
    outcomes = []
    try:
        for _ in range(RUNS):
            grading = Grading(submission, assignment, sandbox, assignment.seed)
            try:
                results = [grading.run(c) for c in assignment.checks if c.role.is_server]
            finally:
                grading.close()
            outcomes.append((sum(r.points for r in results), tuple((r.check_id, r.passed) for r in results)))
    finally:
        sandbox.close()
    return outcomes


def test_grading_the_textbook_servers_twenty_times_gives_one_score(repeated_outcomes):
    assert len({score for score, _ in repeated_outcomes}) == 1


def test_grading_the_textbook_servers_twenty_times_gives_the_same_verdict_per_check(repeated_outcomes):
    verdicts = [dict(v) for _, v in repeated_outcomes]
    flipped = sorted({check for v in verdicts for check, passed in v.items() if passed != verdicts[0][check]})
    assert flipped == [], {check: [v[check] for v in verdicts] for check in flipped}


def test_the_textbook_servers_fail_some_advisory_checks_so_the_verdicts_are_not_trivial(repeated_outcomes):
    _, verdicts = repeated_outcomes[0]
    assert any(passed for _, passed in verdicts) and not all(passed for _, passed in verdicts)


def _outcome(submission, assignment, sandbox, lanes: int) -> tuple[tuple[str, str, float], ...]:
    grading = Grading(submission, assignment, sandbox, assignment.seed, lanes=lanes)
    try:
        grading.start_lanes(assignment.checks)
        results = [grading.run(c) for c in assignment.checks]
    finally:
        grading.close()
    return tuple((r.check_id, r.status.value, r.points) for r in results)


def test_checks_run_side_by_side_get_the_verdicts_they_get_one_at_a_time(docker_ready):
    assignment = load_assignment("uppercase")
    submission = discover(TEXTBOOK)  # all four roles, hung clients included: every kind of lane
    sandbox = DockerSandbox()
    try:
        one_at_a_time = _outcome(submission, assignment, sandbox, lanes=1)
        side_by_side = [_outcome(submission, assignment, sandbox, lanes=6) for _ in range(3)]
    finally:
        sandbox.close()
    assert all(outcome == one_at_a_time for outcome in side_by_side)
