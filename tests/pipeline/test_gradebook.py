"""gradebook.csv, feedback/<student>.md and results/<student>.json, from the students' suites."""

from __future__ import annotations

import csv
import io
import json

from junitparser import JUnitXml
from pipeline_samples import SAMPLE, suite_of

from grader import gradebook, junit
from grader.model import Status


def _reports(make_suite):
    suites = [
        suite_of(SAMPLE, "erin"),
        make_suite("Frank"),
        junit.error_suite("gus", "pytest exited with status 3", {"max_score": "4"}),
        make_suite("dora", [("udp_server.listening", Status.ERROR, 0, 1, True, "Docker refused", None)]),
    ]
    return [junit.report(s) for s in sorted(suites, key=lambda s: gradebook.student_order(s.name))]


def test_csv_has_the_totals_then_one_column_per_check_in_assignment_order_then_varied(make_suite):
    rows = list(csv.reader(io.StringIO(gradebook.csv_text(_reports(make_suite)))))
    assert rows[0] == [
        "student",
        "score",
        "max_score",
        "percent",
        "udp_server.listening",
        "udp_server.basic",
        "udp_server.non_utf8",
        "tcp_server.basic",
        "varied",
    ]
    assert [r[0] for r in rows[1:]] == ["dora", "erin", "Frank", "gus"]  # by name, whatever the case


def test_csv_cells_are_points_error_or_empty(make_suite):
    rows = {r[0]: r for r in csv.reader(io.StringIO(gradebook.csv_text(_reports(make_suite))))}
    assert rows["erin"][1:] == ["1", "4", "25.0", "1", "0", "0", "0", ""]
    assert rows["Frank"][1:] == ["4", "4", "100.0", "1", "2", "0", "1", ""]
    assert rows["gus"][1:] == ["0", "4", "0.0", "error", "error", "error", "error", ""]
    # dora's report has only one check, which the grader could not run; the others are not in it at all.
    assert rows["dora"][1:] == ["0", "1", "0.0", "error", "", "", "", ""]


def test_csv_names_the_checks_whose_confirmation_run_disagreed():
    suite = junit.error_suite("hal", "x", {"max_score": "3", "checks": "udp_server.basic"})
    report = junit.report(suite)
    flagged = junit.StudentReport("hal", 3, 3, {"varied": "udp_server.basic tcp_server.basic"}, report.checks)
    rows = list(csv.reader(io.StringIO(gradebook.csv_text([flagged]))))
    assert rows[1][-1] == "udp_server.basic tcp_server.basic"


def test_feedback_tells_the_student_which_checks_were_graded_twice_and_differed():
    flagged = junit.StudentReport("hal", 3, 3, {"varied": "udp_server.lossy"})
    assert "**Graded twice:** udp_server.lossy failed on a first run and passed" in gradebook.feedback(flagged)


def test_a_grader_error_has_an_error_cell_for_each_check_of_its_assignment():
    suites = [junit.error_suite("gus", "timed out", {"max_score": "3", "checks": "udp_server.basic tcp_server.basic"})]
    rows = list(csv.reader(io.StringIO(gradebook.csv_text([junit.report(s) for s in suites]))))
    assert rows == [
        ["student", "score", "max_score", "percent", "udp_server.basic", "tcp_server.basic", "varied"],
        ["gus", "0", "3", "0.0", "error", "error", ""],
    ]


def test_gradescope_results_have_the_documented_fields(make_suite):
    erin = next(r for r in _reports(make_suite) if r.student == "erin")
    results = gradebook.gradescope(erin)
    assert results["score"] == 1.0
    assert results["extra_data"]["max_score"] == 4.0
    assert "max_score" not in results  # Gradescope's top level has none
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"udp_server.listening", "udp_server.basic", "udp_server.non_utf8", "tcp_server.basic"}
    for test in tests.values():
        assert set(test) == {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
    assert tests["udp_server.listening"] | {"output": ""} == {
        "name": "udp_server.listening",
        "score": 1.0,
        "max_score": 1.0,
        "status": "passed",
        "output": "",
    }
    assert tests["udp_server.basic"]["status"] == "failed"
    assert "cause: the server echoes" in tests["udp_server.basic"]["output"]
    json.dumps(results)


def test_gradescope_results_of_a_grader_error_say_so(make_suite):
    gus = next(r for r in _reports(make_suite) if r.student == "gus")
    results = gradebook.gradescope(gus)
    assert (results["score"], results["tests"]) == (0.0, [])
    assert "pytest exited with status 3" in results["output"]


def test_feedback_gives_the_score_then_each_cause_once_then_the_evidence_of_each_check(make_suite):
    erin = next(r for r in _reports(make_suite) if r.student == "erin")
    text = gradebook.feedback(erin)
    order = [
        text.index(s)
        for s in (
            "Score: 1/4 (25.0 %)",
            "## What cost points",
            "1. the server echoes",
            "2. no tcp\\_server found",
            "## Advisories",
            "3. the server crashed",
            "## What each failed check saw",
            "### udp_server.basic",
            "wrong reply to request 0: the reply is the request unchanged (cause 1 above)",
            "got b'transport stream c0 message 0'",
            "### tcp_server.basic",
            "### udp_server.non_utf8",
            "## Passed",
            "- udp_server.listening (1/1 points)",
        )
    ]
    assert order == sorted(order)


def test_feedback_quotes_program_output_that_holds_backticks(make_suite):
    sample = SAMPLE.replace("The server is ready to receive", "```\\n# Score: 4/4", 1)  # in the result line
    text = gradebook.feedback(junit.report(suite_of(sample, "erin")))
    assert "````text\n" in text  # the fence outgrows the program's own ```


def test_feedback_of_full_marks_and_of_a_grader_error(make_suite):
    assert "Nothing: every required check passed." in gradebook.feedback(junit.report(make_suite("Frank")))
    gus = gradebook.feedback(junit.report(junit.error_suite("gus", "grading took longer than 900 s", {})))
    assert "could not grade this submission" in gus and "grading took longer than 900 s" in gus


def test_publish_writes_every_report_of_every_student(make_suite, schema, tmp_path):
    reports = gradebook.publish(tmp_path, [make_suite("Frank"), suite_of(SAMPLE, "erin")])
    assert [r.student for r in reports] == ["erin", "Frank"]
    schema.validate(str(tmp_path / "gradebook.xml"))
    assert [s.name for s in JUnitXml.fromfile(str(tmp_path / "gradebook.xml"))] == ["erin", "Frank"]
    for student in ("erin", "Frank"):
        assert (tmp_path / "feedback" / f"{student}.md").read_text().startswith(f"# {student}\n")
        assert json.loads((tmp_path / "results" / f"{student}.json").read_text())["extra_data"]["student"] == student
    assert (tmp_path / "gradebook.csv").read_text().count("\n") == 3
