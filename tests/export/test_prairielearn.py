"""PrairieLearn end to end: `grader export prairielearn`, its run.sh run as the grading container's entry point
on a scratch root laid out as /grade (GRADE_ROOT), in a network namespace with nothing but
loopback, as a question without enableNetworking leaves the container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from platform_runs import (
    ASSIGNMENT,
    can_isolate,
    copy_submission,
    environment,
    open_root,
    points_of,
    read_json,
    reference_files,
    run,
)

TOP_FIELDS = {"gradable", "score", "message", "output", "tests"}
TEST_FIELDS = {"name", "description", "points", "max_points", "message", "output"}


@dataclass(frozen=True)
class Graded:
    results: dict
    returncode: int
    log: str


@pytest.fixture(scope="module")
def image_folder(exported) -> Path:
    return exported("prairielearn") / "prairielearn"


def _grade(image_folder: Path, files: dict[str, str] | None, prefix: str) -> Graded:
    with open_root(prefix) as root:
        if files is not None:
            copy_submission(files, root / "student")
        (root / "data").mkdir()
        (root / "data" / "data.json").write_text("{}")
        proc = run(
            [str(image_folder / "run.sh")], root, environment(image_folder / "socketlab-grader", GRADE_ROOT=str(root))
        )
        return Graded(read_json(root / "results" / "results.json"), proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def reference(image_folder) -> Graded:
    return _grade(image_folder, reference_files(), "prairielearn-reference")


@pytest.fixture(scope="module")
def without_udp_client(image_folder) -> Graded:
    return _grade(image_folder, reference_files(without=("udp_client",)), "prairielearn-broken")


def test_the_image_folder_has_its_dockerfile_entry_point_and_question_settings(image_folder):
    assert {"Dockerfile", "run.sh", "info.json", "assignment.toml", "socketlab-grader"} <= {
        p.name for p in image_folder.iterdir()
    }
    settings = read_json(image_folder / "info.json")["externalGradingOptions"]
    assert settings["entrypoint"] == "/opt/socketlab/run.sh" and "enableNetworking" not in settings
    assert settings["timeout"] > ASSIGNMENT.timeouts.submission


@pytest.mark.skipif(not can_isolate(), reason="needs root with unshare and ip to make a network namespace")
def test_with_networking_off_the_reference_scores_full_marks(reference):
    assert reference.returncode == 0, reference.log
    assert (reference.results["gradable"], reference.results["score"]) == (True, 1.0), reference.results["output"]


def test_the_results_have_exactly_prairielearns_fields(reference):
    assert set(reference.results) == TOP_FIELDS
    assert [t["name"] for t in reference.results["tests"]] == [c.id for c in ASSIGNMENT.checks]
    for test in reference.results["tests"]:
        assert set(test) == TEST_FIELDS, test["name"]
        assert 0 <= test["points"] <= test["max_points"]
    assert sum(t["max_points"] for t in reference.results["tests"]) == ASSIGNMENT.max_points


def test_a_missing_udp_client_loses_exactly_its_share_and_still_exits_0(without_udp_client):
    assert without_udp_client.returncode == 0, without_udp_client.log
    assert without_udp_client.results["score"] == pytest.approx(1 - points_of("udp_client") / ASSIGNMENT.max_points)
    lost = {t["name"] for t in without_udp_client.results["tests"] if t["points"] < t["max_points"]}
    assert lost == {c.id for c in ASSIGNMENT.checks if c.required and c.id.startswith("udp_client.")}


def test_a_job_without_student_files_is_not_gradable_and_costs_no_attempt(image_folder):
    graded = _grade(image_folder, None, "prairielearn-empty")
    assert graded.returncode == 0
    assert graded.results["gradable"] is False and graded.results["format_errors"]
