"""Example student submissions get the verdicts, hints and root causes they deserve (tests/examples/*/expected.toml).

Each example is graded once, in Docker, by the same engine `pytest grader/` uses; each
expectation is then its own test, so a failure names the example and the check.
"""

from __future__ import annotations

import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import gradebook
from grader.discover import discover
from grader.engine import Grading
from grader.model import CheckResult, StudentReport
from grader.report import format_result, root_causes
from grader.sandbox.docker import DockerSandbox
from grader.spec import load_assignment

# Its module-scoped grading of many submissions runs in the setup of the first test, which
# the suite's per-test limit (300 s) would otherwise cut short on a busy CI runner.
pytestmark = pytest.mark.timeout(900)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ASSIGNMENT = load_assignment("uppercase")
KNOWN_CHECKS = {c.id for c in ASSIGNMENT.checks}


def _expectations() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "expected.toml").is_file()):
        spec = tomllib.loads((folder / "expected.toml").read_text())
        for check_id, outcome in spec.get("expect", {}).items():
            cases.append((folder.name, check_id, outcome, spec.get("hints", {}).get(check_id)))
    return cases


def _spec(example: str) -> dict:
    return tomllib.loads((EXAMPLES / example / "expected.toml").read_text())


def _examples() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.toml").is_file())


def _roles() -> list[tuple[str, str, str]]:
    cases = []
    for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "expected.toml").is_file()):
        for role, file in tomllib.loads((folder / "expected.toml").read_text()).get("roles", {}).items():
            cases.append((folder.name, role, file))
    return cases


def _grade_example(name: str) -> dict[str, CheckResult]:
    """Every check of the roles the example's expectations mention, with its own sandbox."""
    wanted = tomllib.loads((EXAMPLES / name / "expected.toml").read_text())["expect"]
    roles = {c.role for c in ASSIGNMENT.checks if c.id in wanted}
    sandbox = DockerSandbox()
    grading = Grading(discover(EXAMPLES / name), ASSIGNMENT, sandbox, ASSIGNMENT.seed)
    try:
        return {c.id: grading.run(c) for c in ASSIGNMENT.checks if c.role in roles}
    finally:
        grading.close()
        sandbox.close()


@pytest.fixture(scope="session")
def graded(docker_ready):
    """example name -> check id -> result. All examples are graded once, a few at a time:
    most of a grading is waiting on sockets and budgets, not CPU."""
    names = sorted({example for example, *_ in _expectations()})
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_grade_example, name) for name in names}

    def results_of(name: str) -> dict[str, CheckResult]:
        return futures[name].result()  # an example that could not be graded fails only its own tests

    return results_of


def test_every_expectation_names_a_check_of_the_assignment():
    unknown = {check_id for _, check_id, _, _ in _expectations()} - KNOWN_CHECKS
    assert not unknown


@pytest.mark.parametrize(("example", "role", "file"), _roles())
def test_discovery_finds_each_role_of_the_example_in_the_expected_file(example, role, file):
    programs = {r.value: p for r, p in discover(EXAMPLES / example).programs.items()}
    assert role in programs, f"{example}: {role} not discovered"
    assert programs[role].source == Path(file)


@pytest.mark.parametrize(
    ("example", "check_id", "outcome", "hint"), _expectations(), ids=[f"{e}-{c}" for e, c, _, _ in _expectations()]
)
def test_example_gets_the_expected_verdict_and_hint(graded, example, check_id, outcome, hint):
    result = graded(example)[check_id]
    assert result.passed == (outcome == "pass"), format_result(result)
    if hint is not None and outcome == "fail":
        cause = [result.cause.text, result.cause.where or ""] if result.cause else []
        explanation = " ".join([result.summary, *cause, *result.evidence]).lower()
        assert hint.lower() in explanation, format_result(result)


@pytest.mark.parametrize("example", _examples())
def test_every_example_states_the_root_causes_of_its_failures(example):
    causes = _spec(example).get("causes")
    assert isinstance(causes, list) and all(isinstance(c, str) for c in causes), "expected.toml needs causes = [...]"


@pytest.mark.parametrize("example", _examples())
def test_example_is_told_exactly_its_root_causes(graded, example):
    spec = _spec(example)
    listed = [r for check_id, r in graded(example).items() if spec["expect"].get(check_id) == "fail"]
    assert sorted({c.key for c in root_causes(listed)}) == sorted(spec["causes"]), "\n".join(map(format_result, listed))


def test_a_server_bound_to_loopback_is_told_127_0_0_1_once_in_what_cost_points(graded):
    results = tuple(graded("loopback_udp_server").values())
    score, worth = sum(r.points for r in results), sum(r.max_points for r in results)
    feedback = gradebook.feedback(StudentReport("loopback", score, worth, {}, results))
    start = feedback.index("## What cost points")
    causes = feedback[start : feedback.index("\n## ", start)]
    assert causes.count("127.0.0.1") == 1, causes
    assert len(root_causes(results)) == 1


def test_a_crashed_server_is_restarted_so_the_next_check_still_counts(docker_ready):
    checks = {c.id: c for c in ASSIGNMENT.checks}
    sandbox = DockerSandbox()
    grading = Grading(discover(EXAMPLES / "crash_non_utf8_tcp_server"), ASSIGNMENT, sandbox, ASSIGNMENT.seed)
    try:
        crash = grading.run(checks["tcp_server.non_utf8"])
        after = grading.run(checks["tcp_server.basic"])
    finally:
        grading.close()
        sandbox.close()
    assert "crashed" in crash.summary and crash.cause is not None and "UTF-8" in crash.cause.text
    assert after.passed, format_result(after)
