"""The JUnit side of the gradebook: one suite per student, read back into check results.

What pytest writes for one student (`pytest grader/ --junitxml`) is normalised here:
the suite is named after the student, each test case gets `classname=<student>` and
`name=<check id>` (so every reporter, which groups by suite or classname, shows who and
what), and anything the Jenkins junit-10 schema does not allow is rewritten. The
gradebook's other outputs are read back from these suites, so `grader merge` needs
nothing but the per-student XML files.

Each check's result crosses the file as data: the first line of its captured stdout is
`socketlab-result: ` and the result as one line of JSON (grader.model.CheckResult), then
the same result in words for people. Only that line is read back, never the words.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from grader.model import CheckResult, CheckSpec, Status, StudentReport
from grader.report import format_result

GRADER_ERROR = "grader-error"  # failure type: the grader, not the student, is at fault
SUBMISSION_ERROR = "submission-error"  # failure type: the submission cannot be graded as handed in
ERROR_CASE = "grader_error"  # the one test case of a submission the grader could not grade

_CHECK_NAME = re.compile(r"test_check\[(.+)\]")
_SECTION = re.compile(r"^-+ Captured (.+?) -+$", re.MULTILINE)
RESULT_MARK = "socketlab-result: "
# Characters XML 1.0 cannot hold, even escaped; a student's output may contain any byte.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JUnitError(Exception):
    """A JUnit file that is not one student's grading."""


def check_output(result: CheckResult) -> str:
    """What a check prints, which pytest keeps as the test case's system-out: the data line, then the words."""
    return f"{RESULT_MARK}{result.to_json()}\n{format_result(result)}"


def xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def normalize(xml: JUnitXml, student: str) -> TestSuite:
    """pytest's report of one student, as the gradebook holds it."""
    suites = list(xml)
    if len(suites) != 1:
        raise JUnitError(f"expected one test suite, found {len(suites)}")
    return normalize_suite(suites[0], student)


def normalize_suite(suite: TestSuite, student: str) -> TestSuite:
    """Idempotent, so merged reports may come straight from pytest or from `grader grade`."""
    suite.name = student
    for case in suite:
        match = _CHECK_NAME.fullmatch(case.name or "")
        if match:
            case.name = match[1]
        case.classname = student
        if case.is_error:
            # junit-10.xsd has no <error> in a test case; pytest writes one when the grader
            # itself broke (a fixture error), so it becomes a failure typed as the grader's.
            case.result = [_as_failure(r) if isinstance(r, Error) else r for r in case.result]
    suite.update_statistics()
    return suite


def _as_failure(error: Error) -> Failure:
    failure = Failure(error.message, GRADER_ERROR)
    failure.text = error.text
    return failure


def error_suite(student: str, message: str, properties: dict[str, str], detail: str = "") -> TestSuite:
    """The suite of a submission the grader could not grade: one failed test case saying why.

    `properties` should hold max_score and `checks` (the check ids, space-separated), so
    the gradebook still has the student's maximum and a column for each check.
    """
    suite = TestSuite(student)
    for name, value in {**properties, "score": "0", "grader_error": message}.items():
        suite.add_property(name, xml_text(value))
    suite.add_testcase(error_case(student, ERROR_CASE, message, detail))
    return suite


def submission_error_suite(
    student: str, problem: str, properties: dict[str, str], checks: Iterable[CheckSpec]
) -> TestSuite:
    """The suite of a submission that cannot be graded as handed in (a corrupt zip, a bad grader.toml).

    The student's fault, not the grader's: every check scores 0 with the reason, in the
    shape pytest gives a failed check, so every report reads it like any other grading.
    """
    problem = " ".join(problem.split())
    suite = TestSuite(student)
    for name, value in {**properties, "score": "0", "submission_error": problem}.items():
        suite.add_property(name, xml_text(value))
    for check in checks:
        result = CheckResult(
            check.id, Status.FAILED, 0.0, check.points, f"not graded: {problem}", advisory=not check.required
        )
        line = xml_text(format_result(result))
        case = TestCase(check.id, student, 0.0)
        case.result = [Failure(line, SUBMISSION_ERROR) if check.required else Skipped(line, "pytest.xfail")]
        case.system_out = xml_text(check_output(result)) + "\n"
        suite.add_testcase(case)
    suite.update_statistics()
    return suite


def with_properties(suite: TestSuite, properties: dict[str, str]) -> TestSuite:
    """`suite` with `properties` added (where intake found the submission, the LMS identity)."""
    for name, value in properties.items():
        suite.add_property(name, xml_text(value))
    return suite


def error_case(student: str, name: str, message: str, detail: str = "") -> TestCase:
    """A test case the grader could not produce a result for: a failure typed as the grader's."""
    case = TestCase(name, student, 0.0)
    failure = Failure(xml_text(message), GRADER_ERROR)
    failure.text = xml_text(detail or message)
    case.result = [failure]
    return case


def document(suites: Iterable[TestSuite], name: str) -> JUnitXml:
    """`<testsuites>` holding `suites`, with totals but none of the attributes junit-10.xsd lacks (skipped)."""
    book = JUnitXml(name)
    tests = failures = errors = 0
    seconds = 0.0
    for suite in suites:
        suite.update_statistics()
        book.append(suite)
        tests, failures, errors = tests + suite.tests, failures + suite.failures, errors + suite.errors
        seconds += suite.time or 0.0
    book.tests, book.failures, book.errors, book.time = tests, failures, errors, round(seconds, 3)
    return book


def write_suite(suite: TestSuite, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document([suite], suite.name).write(str(path))


def read_suites(path: Path) -> list[TestSuite]:
    return list(JUnitXml.fromfile(str(path)))


def report(suite: TestSuite) -> StudentReport:
    properties = {p.name: p.value for p in suite.properties()}
    if properties.get("grader_error") is not None:
        return StudentReport(
            suite.name,
            0.0,
            _number(properties.get("max_score")) or 0.0,
            properties,
            grader_error=properties["grader_error"],
        )
    checks = tuple(_check(case) for case in suite)
    score = _number(properties.get("score"))
    max_score = _number(properties.get("max_score"))
    return StudentReport(
        suite.name,
        score if score is not None else sum(c.points for c in checks),
        max_score if max_score is not None else sum(c.max_points for c in checks),
        properties,
        checks,
    )


def _check(case: TestCase) -> CheckResult:
    result = _result_line(_captured_out(case.system_out or ""))
    if result is not None:
        return dataclasses.replace(result, check_id=case.name)
    # No result line: pytest itself reported the case (a fixture of the grader broke).
    failure = next((r for r in case.result if isinstance(r, Failure)), None)
    summary = failure.message if failure is not None and failure.message else "the grader could not run this check"
    detail = failure.text if failure is not None and failure.text and failure.text != summary else None
    return CheckResult(
        case.name, Status.ERROR, 0.0, 0.0, summary, (detail,) if detail else (), advisory=case.is_skipped
    )


def _result_line(out: str) -> CheckResult | None:
    """The check's result from its first line; what follows (the words, a program's output) is never read."""
    first = out.lstrip("\n").split("\n", 1)[0]
    if not first.startswith(RESULT_MARK):
        return None
    try:
        return CheckResult.from_json(first[len(RESULT_MARK) :])
    except ValueError:
        return None


def _captured_out(system_out: str) -> str:
    """The test's own stdout: pytest puts each capture (Out, Err, Log) under a `--- Captured X ---` line."""
    parts = _SECTION.split(system_out)
    if len(parts) == 1:
        return system_out
    return next((body for name, body in zip(parts[1::2], parts[2::2], strict=True) if name == "Out"), "")


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
