"""Root causes: failures grouped by what caused them, each told once, the costliest first. Pure."""

from __future__ import annotations

import re

from grader import gradebook
from grader.model import Cause, CheckResult, Status, StudentReport
from grader.report import root_causes, terminal_summary

LOOPBACK = Cause("loopback-bind", "bound to 127.0.0.1 (loopback) only: bind to ''")
WHERE = "UDPServer.py line 4: s.bind(('127.0.0.1', 12000))"


def failed(check_id: str, points: float, cause: Cause | None = None, summary: str = "no reply", advisory=False):
    return CheckResult(check_id, Status.FAILED, 0.0, points, summary, cause=cause, advisory=advisory)


def test_checks_with_one_cause_are_one_root_cause_with_their_points():
    [cause] = root_causes([failed("a.one", 1, LOOPBACK), failed("a.two", 2, LOOPBACK)])
    assert (cause.key, cause.lost, cause.check_ids) == ("loopback-bind", 3, ["a.one", "a.two"])


def test_the_students_line_is_taken_from_whichever_check_found_it():
    with_line = Cause(LOOPBACK.key, LOOPBACK.text, WHERE)
    [cause] = root_causes([failed("a.one", 1, LOOPBACK), failed("a.two", 1, with_line)])
    assert cause.where == WHERE


def test_the_costliest_cause_comes_first_and_equal_costs_keep_their_order():
    echo = Cause("echo", "apply .upper()")
    found = root_causes([failed("a.one", 1, echo), failed("a.two", 2, LOOPBACK), failed("a.three", 1)])
    assert [c.key for c in found] == ["loopback-bind", "echo", "unexplained"]


def test_failures_no_rule_explains_group_by_their_summary():
    found = root_causes([failed("a.one", 1, summary="x"), failed("a.two", 1, summary="y"), failed("a.three", 1)])
    assert [c.text for c in found] == ["x", "y", "no reply"]


def test_a_passed_check_is_no_cause():
    passed = CheckResult("a.one", Status.PASSED, 1.0, 1.0, "fine")
    assert root_causes([passed]) == []


def test_the_terminal_tells_a_cause_shared_by_advisories_once():
    results = [failed("a.one", 1, LOOPBACK), failed("a.two", 0, LOOPBACK, advisory=True)]
    lines = terminal_summary(results)
    assert sum("127.0.0.1" in line for line in lines) == 1
    assert lines[-1] == "  - the same causes as above: a.two"


def test_feedback_numbers_an_advisory_with_a_required_cause_by_that_cause():
    checks = (failed("a.one", 1, LOOPBACK), failed("a.two", 0, LOOPBACK, advisory=True))
    text = gradebook.feedback(StudentReport("s", 0, 1, {}, checks))
    assert text.count("127.0.0.1") == 1
    assert "The causes above also fail: a.two." in text
    assert text.count("(cause 1 above)") == 2


def test_one_cause_in_two_programs_is_two_causes_each_with_its_own_line():
    udp = Cause("exits-after-serving", "keep serving", "UDPServer.py line 2: s.recvfrom(2048)")
    tcp = Cause("exits-after-serving", "keep serving", "TCPServer.py line 9: s.accept()")
    found = root_causes([failed("udp_server.basic", 1, udp), failed("tcp_server.basic", 1, tcp)])
    assert [(c.role, c.where) for c in found] == [("udp_server", udp.where), ("tcp_server", tcp.where)]


def test_feedback_shows_program_output_as_text_a_terminal_cannot_obey():
    output = "program output (last lines):\n    \x1b]52;c;aGk=\x07\x1b[2J\u202eevil"
    check = CheckResult("a.one", Status.FAILED, 0.0, 1.0, "no reply", (output,))
    text = gradebook.feedback(StudentReport("s", 0, 1, {}, (check,)))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]52;c;aGk=" in text


def test_feedback_notes_quote_a_file_name_as_text():
    notes = '["udp_server: [click me](javascript:alert(1)) <img src=x onerror=alert(1)>.py (found by content)"]'
    text = gradebook.feedback(StudentReport("s", 1, 1, {"discovery_notes": notes}, ()))
    assert re.search(r"(?<!\\)\[click me", text) is None and re.search(r"(?<!\\)<img", text) is None
