"""One pytest test per check; the check id is in the test name (test_check[udp_server.basic])."""

from __future__ import annotations

import pytest

from grader.junit import check_output
from grader.model import CheckSpec
from grader.names import terminal_text
from grader.report import format_result


def test_check(check: CheckSpec, grading) -> None:
    # The result goes to stdout (JUnit system-out) as data, first, then in words: the Jenkins
    # schema that GitLab and Jenkins follow allows properties only on the suite.
    result = grading.run(check)
    print(check_output(result))
    if result.passed:
        return
    # What reaches the student's terminal: a program's output in it is escaped, never obeyed.
    if result.advisory:
        pytest.xfail(terminal_text(f"advisory, costs no points: {result.summary}"))
    pytest.fail(terminal_text(format_result(result)), pytrace=False)
