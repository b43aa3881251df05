"""GitHub Classroom end to end: `grader export classroom` copied into a student repository, and the workflow's own
Grade command run there as the runner runs it (GITHUB_OUTPUT set); its `result` decoded as the
grading reporter decodes it, and totalled as the reporter totals "Points N/M" for Classroom.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from junitparser import JUnitXml
from platform_runs import ASSIGNMENT, environment, open_root, points_of, reference_files, run

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"


@dataclass(frozen=True)
class Graded:
    result: dict
    reports: dict[str, bytes]
    returncode: int
    log: str

    @property
    def points(self) -> float:
        """As the reporter's NotifyClassroom adds them up."""
        return sum(test["score"] for test in self.result["tests"])


@pytest.fixture(scope="module")
def template(exported) -> Path:
    return exported("classroom") / "classroom"


def grade_command(template: Path) -> str:
    steps = re.findall(r"- name: Grade\n\s+id: grader\n\s+run: (.+)\n", (template / WORKFLOW).read_text())
    assert len(steps) == 1, "the workflow has one Grade step"
    return steps[0]


def _grade(template: Path, files: dict[str, str], prefix: str) -> Graded:
    with open_root(prefix) as repo:
        shutil.copytree(template, repo, dirs_exist_ok=True)
        for name, text in files.items():
            (repo / name).write_text(text, encoding="utf-8")
        output = repo.parent / f"{repo.name}.github-output"
        env = environment(
            repo / ".socketlab" / "socketlab-grader",
            GITHUB_OUTPUT=str(output),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        )
        try:
            proc = run(["sh", "-c", grade_command(template)], repo, env)
            encoded = dict(line.split("=", 1) for line in output.read_text().splitlines())["result"]
        finally:
            output.unlink(missing_ok=True)
        reports = {p.name: p.read_bytes() for p in (repo / "socketlab-reports").iterdir()}
        return Graded(json.loads(base64.b64decode(encoded)), reports, proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def reference(template) -> Graded:
    return _grade(template, reference_files(), "classroom-reference")


@pytest.fixture(scope="module")
def without_udp_server(template) -> Graded:
    return _grade(template, reference_files(without=("udp_server",)), "classroom-broken")


def test_the_workflow_runs_on_push_and_hands_the_result_to_the_grading_reporter(template):
    text = (template / WORKFLOW).read_text()
    assert "- push" in text and "checks: write" in text
    assert 'GRADER_RESULTS: "${{ steps.grader.outputs.result }}"' in text and "runners: grader" in text
    assert "uses: classroom-resources/autograding-grading-reporter@v1" in text


def test_the_workflow_keeps_the_junit_and_the_feedback_as_artifacts(template, reference):
    assert "uses: actions/upload-artifact@v4" in (template / WORKFLOW).read_text()
    assert "path: socketlab-reports/" in (template / WORKFLOW).read_text()
    assert set(reference.reports) == {"junit.xml", "feedback.md", "results.json"}


def test_the_reference_gets_every_point(reference):
    assert reference.returncode == 0, reference.log
    assert (reference.result["status"], reference.result["max_score"]) == ("pass", ASSIGNMENT.max_points)
    assert reference.points == ASSIGNMENT.max_points


def test_the_result_has_one_test_per_check_as_the_reporter_reads_them(reference):
    assert [t["name"] for t in reference.result["tests"]] == [c.id for c in ASSIGNMENT.checks]
    assert {t["status"] for t in reference.result["tests"]} == {"pass"}
    assert all(isinstance(t["message"], str) for t in reference.result["tests"])


def test_the_junit_artifact_is_the_students_suite(reference, tmp_path):
    (tmp_path / "junit.xml").write_bytes(reference.reports["junit.xml"])
    suites = list(JUnitXml.fromfile(str(tmp_path / "junit.xml")))
    assert [len(list(suite)) for suite in suites] == [len(ASSIGNMENT.checks)]


def test_a_missing_udp_server_loses_exactly_its_points_and_fails_the_run(without_udp_server):
    assert without_udp_server.result["status"] == "fail"
    assert without_udp_server.points == ASSIGNMENT.max_points - points_of("udp_server")
