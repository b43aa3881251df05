"""Grade files for the LMS, from reports alone: who is in them, who is listed instead, what a cell may hold."""

from __future__ import annotations

import csv
import io

from grader import handback
from grader.model import Cause, CheckResult, Status, StudentReport


def _report(student: str, score: float = 3, grader_error: str | None = None, **properties: str) -> StudentReport:
    failed = CheckResult(
        "tcp_server.basic", Status.FAILED, 0, 1, "no reply", cause=Cause("loopback-bind", "bind to ''")
    )
    return StudentReport(student, score, 4, properties, (failed,), grader_error)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_canvas_leaves_out_students_without_a_canvas_id_and_says_who():
    result = handback.canvas_csv(
        [
            _report("anon_x", lms="canvas", lms_name="anon_x"),
            _report("bob"),
            _report("lee_7", lms="canvas", lms_id="7", lms_name="lee"),
        ],
        "Lab",
        "12",
    )
    assert _rows(result.text)[2:] == [["lee", "7", "", "", "", "3"]]
    assert [line.split(":")[0] for line in result.missing] == ["anon_x", "bob"]


def test_a_student_the_grader_could_not_grade_gets_no_cell_but_a_line_for_the_instructor():
    result = handback.moodle_worksheet([_report("ana_5", 0, "docker died", lms="moodle", lms_id="5")])
    assert _rows(result.text)[1:] == []
    assert result.missing == ["ana_5: not graded (grader error)"]


def test_a_name_that_would_run_as_a_formula_is_quoted_in_every_format():
    hostile = _report("x", lms="moodle", lms_id="5", lms_name="=HYPERLINK(1)", lms_login="@x")
    cells = [
        cell
        for text in (handback.moodle_worksheet([hostile]).text, handback.plain_csv([hostile]).text)
        for row in _rows(text)
        for cell in row
    ]
    assert "'=HYPERLINK(1)" in cells and "'@x" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_the_comment_gives_the_score_and_each_cause_once():
    report = StudentReport(
        "s",
        1,
        4,
        {},
        (
            CheckResult("a.one", Status.FAILED, 0, 1, "x", cause=Cause("k", "same fix")),
            CheckResult("a.two", Status.FAILED, 0, 2, "no reply"),
        ),
    )
    assert handback.comment(report) == "Score 1/4 (25 %). What cost points: no reply (2 points); same fix (1 point)."


def test_the_comment_names_a_cause_behind_several_checks_once_with_its_line():
    cause = Cause("loopback-bind", "bound to loopback only", "UDPServer.py line 4: s.bind(('127.0.0.1', 12000))")
    report = StudentReport(
        "s", 0, 3, {}, tuple(CheckResult(f"a.{n}", Status.FAILED, 0, 1, "no reply", cause=cause) for n in range(3))
    )
    assert handback.comment(report) == (
        "Score 0/3 (0 %). What cost points: bound to loopback only "
        "(at UDPServer.py line 4: s.bind(('127.0.0.1', 12000))) (3 points)."
    )


def test_the_comment_is_bounded_and_holds_no_control_character():
    report = StudentReport("s", 0, 4, {}, (CheckResult("a.one", Status.FAILED, 0, 1, "\x1b[2J" + "y" * 5000),))
    text = handback.comment(report)
    assert len(text) == handback.MAX_COMMENT_CHARS and "\x1b" not in text


def test_the_comment_of_a_submission_error_gives_the_reason():
    report = _report("s", 0, submission_error="grader.toml: larger than 64 KiB")
    assert handback.comment(report) == "Score 0/4. Not graded as handed in: grader.toml: larger than 64 KiB"
