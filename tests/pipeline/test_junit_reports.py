"""Per-student JUnit suites: normalised for reporters, read back into check results, merged into a gradebook."""

from __future__ import annotations

import pytest
from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite
from pipeline_samples import HEADER, SAMPLE, suite_of

from grader import junit
from grader.model import Cause, CheckResult, Status

RESULT_FIELDS = (
    '{"advisory": false, "cause": null, "check_id": "a.b", "duration": 0, "evidence": [], '
    '"max_points": 2, "points": 0, "status": "failed", "steps": [], "summary": "no reply", "timed": false, '
    '"varied": false}'
)


def test_suite_and_cases_are_named_after_the_student_and_the_check():
    suite = suite_of(SAMPLE, "erin")
    assert suite.name == "erin"
    cases = list(suite)
    assert [c.name for c in cases] == [
        "udp_server.listening",
        "udp_server.basic",
        "udp_server.non_utf8",
        "tcp_server.basic",
    ]
    assert {c.classname for c in cases} == {"erin"}


def test_normalising_twice_changes_nothing():
    once = suite_of(SAMPLE, "erin")
    twice = junit.normalize_suite(suite_of(SAMPLE, "erin"), "erin")
    assert once.tostring() == twice.tostring()


def test_points_status_evidence_and_cause_are_read_back():
    report = junit.report(suite_of(SAMPLE, "erin"))
    assert (report.student, report.score, report.max_score) == ("erin", 1.0, 4.0)
    assert report.properties["seed"] == "2026"
    checks = {c.check_id: c for c in report.checks}
    assert checks["udp_server.listening"].passed and checks["udp_server.listening"].points == 1.0
    basic = checks["udp_server.basic"]
    assert (basic.status, basic.points, basic.max_points, basic.advisory) == (Status.FAILED, 0.0, 2.0, False)
    assert basic.summary == "wrong reply to request 0: the reply is the request unchanged"
    assert basic.evidence[0] == "sent 1 datagrams for 1 requests from 1 socket(s); received 1"
    assert basic.cause == Cause("echo", "the server echoes without upper-casing: apply .upper() to the decoded text")
    assert checks["udp_server.non_utf8"].advisory
    assert checks["tcp_server.basic"].status is Status.MISSING
    assert [c.check_id for c in report.failures] == ["udp_server.basic", "tcp_server.basic"]
    assert [c.check_id for c in report.advisories] == ["udp_server.non_utf8"]


def test_a_programs_output_cannot_pass_for_a_result():
    """The sample's server printed a result line of its own and "  hint: ..."; both stay quoted program output."""
    basic = next(c for c in junit.report(suite_of(SAMPLE, "erin")).checks if c.check_id == "udp_server.basic")
    assert basic.points == 0.0
    assert basic.cause is not None and basic.cause.text.startswith("the server echoes")
    assert basic.evidence[-1].splitlines()[1:] == [
        "    The server is ready to receive",
        '    socketlab-result: {"points": 2}',
        "      hint: full marks, trust me",
    ]


def test_a_newline_in_a_programs_output_cannot_end_the_result_line():
    forged = '\nsocketlab-result: {"points": 9}\n'
    cause = Cause("program-error", forged, forged)
    result = CheckResult("udp_server.basic", Status.FAILED, 0.0, 2.0, "wrong reply" + forged, (forged,), cause)
    [line, *_] = junit.check_output(result).split("\n")
    assert CheckResult.from_json(line.removeprefix(junit.RESULT_MARK)) == result


def test_only_the_first_line_of_the_captured_stdout_is_read():
    log = "-" * 30 + " Captured Log " + "-" * 30 + '\nWARNING grader: socketlab-result: {"points": 9}\n'
    listening = junit.report(suite_of(SAMPLE.replace(HEADER, log + HEADER, 1), "erin")).checks[0]
    assert (listening.points, listening.status) == (1.0, Status.PASSED)


def test_a_case_whose_first_line_is_not_a_result_is_not_graded():
    text = SAMPLE.replace(HEADER + "\nsocketlab-result: ", HEADER + "\nsocketlab-result:", 1)
    listening = junit.report(suite_of(text, "erin")).checks[0]
    assert (listening.status, listening.points) == (Status.ERROR, 0.0)


@pytest.mark.parametrize(
    "line",
    [
        "[1, 2]",
        '{"points": 1}',
        RESULT_FIELDS.replace('"points": 0', '"points": NaN'),
        RESULT_FIELDS.replace('"points": 0', '"points": true'),
        RESULT_FIELDS.replace('"status": "failed"', '"status": "graded"'),
        RESULT_FIELDS.replace('"evidence": []', '"evidence": [1]'),
        RESULT_FIELDS.replace('"timed": false', '"timed": 0'),
        RESULT_FIELDS.replace("}", ', "extra": 1}'),
        "[" * 100000,
        RESULT_FIELDS.replace('"points": 0', '"points": 1e400'),
        RESULT_FIELDS.replace('"points": 0', '"points": 1' + "0" * 400),
        RESULT_FIELDS.replace('"points": 0', '"points": 99'),
        RESULT_FIELDS.replace('"points": 0', '"points": -5'),
        RESULT_FIELDS.replace('"duration": 0', '"duration": -1'),
        RESULT_FIELDS.replace('"cause": null', '"cause": {"key": "k", "text": "t"}'),
        RESULT_FIELDS.replace('"cause": null', '"cause": {"key": 1, "text": "t", "where": null}'),
        RESULT_FIELDS.replace(
            '"steps": []', '"steps": [{"at": 1e400, "sender": "grader", "text": "", "fate": "", "note": ""}]'
        ),
        RESULT_FIELDS.replace(
            '"steps": []', '"steps": [{"at": 0, "sender": "hacker", "text": "", "fate": "", "note": ""}]'
        ),
        RESULT_FIELDS.replace(
            '"steps": []',
            '"steps": [' + ",".join(['{"at": 0, "sender": "grader", "text": "", "fate": "", "note": ""}'] * 201) + "]",
        ),
    ],
)
def test_anything_but_a_check_result_is_refused(line):
    with pytest.raises(ValueError, match="not a check result"):
        CheckResult.from_json(line)


def test_a_result_reads_back_as_it_was_written():
    assert CheckResult.from_json(RESULT_FIELDS) == CheckResult("a.b", Status.FAILED, 0.0, 2.0, "no reply")


def test_a_pytest_error_becomes_a_failure_the_schema_allows(schema):
    """junit-10.xsd has no <error> in a test case; pytest writes one when a fixture of the grader breaks."""
    case = TestCase("test_check[udp_server.basic]", "grader.test_checks", 0.1)
    error = Error("failed on setup with docker.errors.APIError", "APIError")
    error.text = "Traceback ..."
    case.result = [error]
    case.system_out = f"{HEADER}\n"
    suite = TestSuite("x")
    suite.add_testcase(case)
    normalized = junit.normalize(JUnitXml.fromstring(junit.document([suite], "t").tostring()), "erin")
    schema.validate(junit.document([normalized], "gradebook").tostring().decode())
    failure = next(iter(normalized)).result[0]
    assert isinstance(failure, Failure) and failure.type == junit.GRADER_ERROR and failure.text == "Traceback ..."
    check = junit.report(normalized).checks[0]
    assert (check.status, check.points) == (Status.ERROR, 0.0)
    assert "APIError" in check.summary


def test_a_submission_the_grader_could_not_grade_is_one_failed_case(schema):
    suite = junit.error_suite(
        "erin",
        "pytest exited with status 3",
        {"assignment": "uppercase", "max_score": "25"},
        "output with a NUL \x00 and an escape \x1b[31m",
    )
    schema.validate(junit.document([suite], "gradebook").tostring().decode())
    [case] = list(suite)
    assert (case.name, case.classname) == (junit.ERROR_CASE, "erin")
    assert "\\x00" in case.result[0].text and "\\x1b" in case.result[0].text
    report = junit.report(suite)
    assert (report.grader_error, report.score, report.max_score, report.checks) == (
        "pytest exited with status 3",
        0.0,
        25.0,
        (),
    )


def test_the_gradebook_passes_the_schema_and_reads_back_with_scores(schema, make_suite, tmp_path):
    suites = [suite_of(SAMPLE, "erin"), make_suite("frank"), junit.error_suite("gus", "timed out", {"max_score": "4"})]
    path = tmp_path / "gradebook.xml"
    junit.document(suites, "socket-lab gradebook").write(str(path))
    schema.validate(str(path))
    book = JUnitXml.fromfile(str(path))
    assert (book.tests, book.failures) == (4 + 4 + 1, 2 + 0 + 1)
    scores = {s.name: {p.name: p.value for p in s.properties()} for s in book}
    assert {name: (p["score"], p["max_score"]) for name, p in scores.items()} == {
        "erin": ("1", "4"),
        "frank": ("4", "4"),
        "gus": ("0", "4"),
    }
    names = [(case.classname, case.name) for suite in book for case in suite]
    assert len(names) == len(set(names))


def test_a_written_suite_reads_back_the_same(make_suite, tmp_path):
    suite = make_suite("frank")
    junit.write_suite(suite, tmp_path / "junit" / "frank.xml")
    [again] = junit.read_suites(tmp_path / "junit" / "frank.xml")
    assert junit.report(again) == junit.report(suite)
