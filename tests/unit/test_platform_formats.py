"""The platforms' results formats, from hand-made reports: what each says of a failure, an advisory, a grader error."""

from __future__ import annotations

import re

import pytest

from grader.export import formats
from grader.export.formats import Catalog
from grader.model import Cause, CheckResult, Status, StudentReport

CATALOG = Catalog({"udp_server.basic": "answers one line in upper case"}, frozenset({"udp_server.burst"}))
PASSED = CheckResult("udp_client.prints_reply", Status.PASSED, 2.0, 2.0, "printed the reply")
FAILED = CheckResult(
    "udp_server.basic",
    Status.FAILED,
    0.0,
    2.0,
    "wrong reply",
    cause=Cause("program-error", "call upper(), it replied [click](http://evil.example) <b>x</b>"),
)
ADVISORY_PASSED = CheckResult("udp_server.burst", Status.PASSED, 0.0, 0.0, "all answered")  # an xpass: not flagged
REPORT = StudentReport("alice", 2.0, 4.0, {"assignment": "uppercase"}, (PASSED, FAILED, ADVISORY_PASSED))
BROKEN = StudentReport(
    "alice",
    0.0,
    4.0,
    {"checks": "udp_server.basic udp_client.prints_reply"},
    grader_error="pytest exited with status 3",
)


def test_gradescope_output_shows_a_students_markdown_as_text():
    output = formats.gradescope(REPORT, 12.4, CATALOG)["output"]
    assert r"\[click\](http://evil.example)" in output and r"\<b\>" in output
    assert re.search(r"(?<!\\)[\[\]<>]", output) is None  # no bracket a renderer could take for a link or HTML


def test_gradescope_output_gives_the_cause_of_what_cost_points():
    assert "- call upper(), it replied" in formats.gradescope(REPORT, 12.4, CATALOG)["output"]


def test_an_advisory_check_the_report_cannot_tell_apart_is_still_zero_of_zero_and_tagged():
    burst = formats.gradescope(REPORT, 1, CATALOG)["tests"][2]
    assert (burst["score"], burst["max_score"], burst["tags"]) == (0.0, 0.0, ["udp_server", "advisory"])


def test_gradescope_execution_time_is_whole_seconds():
    assert formats.gradescope(REPORT, 12.4, CATALOG)["execution_time"] == 12


def test_prairielearn_score_is_the_fraction_of_the_points():
    results = formats.prairielearn(REPORT, CATALOG)
    assert results["score"] == 0.5
    assert results["tests"][1]["description"] == "answers one line in upper case"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("prairielearn", {"gradable": False}),
        ("classroom", {"status": "error"}),
        ("gradescope", {"score": 0.0, "tests": []}),
    ],
)
def test_a_grader_error_says_so_in_each_platforms_own_terms(platform, expected):
    results = (
        formats.gradescope(BROKEN, 1, CATALOG)
        if platform == "gradescope"
        else getattr(formats, platform)(BROKEN, CATALOG)
    )
    assert expected.items() <= results.items()
    assert "pytest exited with status 3" in (
        results.get("message") or results.get("output") or results["tests"][0]["message"]
    )


def test_autolab_names_every_group_of_the_assignment_even_after_a_grader_error():
    assert formats.autolab_scores(BROKEN, CATALOG) == {"scores": {"udp_server": 0, "udp_client": 0}}


def test_autolab_adds_the_points_of_each_group():
    assert formats.autolab_scores(REPORT, CATALOG) == {"scores": {"udp_client": 2, "udp_server": 0}}


def test_classroom_counts_a_failed_required_check_as_a_failed_run():
    results = formats.classroom(REPORT, CATALOG)
    assert results["status"] == "fail"
    assert [t["status"] for t in results["tests"]] == ["pass", "fail", "pass"]


def test_the_plain_text_summary_of_a_grader_error_gives_the_reason_not_a_score():
    assert formats.summary_text(BROKEN) == f"{formats.GRADER_FAILED}: pytest exited with status 3"
