"""Hand-made StudentReports for the HTML pages: one passing, one bound to 127.0.0.1, one hostile, one not graded."""

from __future__ import annotations

from junitparser import TestCase, TestSuite

from grader import junit
from grader.model import Cause, CheckResult, Sender, Status, Step, StudentReport

ESC = "\x1b"
HOSTILE = f'</svg><script>alert(1)</script><img src=x onerror="alert(2)">{ESC}[31m"quoted"'
LOOPBACK = Cause(
    "loopback-bind",
    "the server is bound to 127.0.0.1, so only this machine reaches it: bind to '' (every address)",
    "UDPServer.py line 4: serverSocket.bind(('127.0.0.1', 12000))",
)
LOSSY_CHECK = "udp_server.lossy"


def lossy_steps() -> tuple[Step, ...]:
    """A request dropped, its retry answered, then a duplicated and a held one."""
    return (
        Step(0.0, Sender.GRADER, '"hello world c0 message 0" (25 bytes)', "dropped", "request 0"),
        Step(1.0, Sender.GRADER, '"hello world c0 message 0" (25 bytes)', "delivered", "request 0, attempt 2"),
        Step(1.002, Sender.PROGRAM, '"HELLO WORLD C0 MESSAGE 0" (25 bytes)', note="matched request 0"),
        Step(1.003, Sender.GRADER, '"port layer c0 message 1" (23 bytes)', "duplicated", "request 1"),
        Step(1.004, Sender.PROGRAM, '"PORT LAYER C0 MESSAGE 1" (23 bytes)', note="matched request 1"),
        Step(1.005, Sender.GRADER, '"upper reply c0 message 2" (24 bytes)', "held", "request 2"),
        Step(1.2, Sender.GRADER, '"upper reply c0 message 3" (24 bytes)', "delayed", "request 3, delay 120 ms"),
    )


def check(check_id: str, passed: bool = True, **fields) -> CheckResult:
    status = Status.PASSED if passed else Status.FAILED
    defaults = {
        "summary": "all requests answered correctly" if passed else "no reply at all",
        "points": 2.0 if passed else 0.0,
    }
    return CheckResult(check_id, fields.pop("status", status), max_points=2.0, **{**defaults, **fields})


def passing() -> StudentReport:
    checks = (
        check("udp_server.basic", steps=lossy_steps()[1:3]),
        check(LOSSY_CHECK, steps=lossy_steps()),
        check("tcp_server.basic"),
    )
    return StudentReport("alice", 6.0, 6.0, {"assignment": "uppercase", "seed": "7"}, checks)


def loopback() -> StudentReport:
    failed = [
        check(
            check_id,
            False,
            cause=LOOPBACK,
            evidence=("sent 1 datagram, received 0", "seed 7"),
            steps=(Step(0.0, Sender.GRADER, '"socket port c0 message 0" (25 bytes)', "delivered", "no reply in 1 s"),),
        )
        for check_id in ("udp_server.basic", "udp_server.non_ascii", "udp_server.two_clients")
    ]
    advisory = check(
        "udp_server.long_line",
        False,
        advisory=True,
        summary="wrong reply: truncated",
        cause=Cause("truncated-reply", "use 2048"),
    )
    checks = (
        *failed,
        check(LOSSY_CHECK, False, cause=LOOPBACK, steps=lossy_steps()),
        check("tcp_server.basic"),
        advisory,
    )
    return StudentReport("bob", 2.0, 12.0, {"assignment": "uppercase", "seed": "7"}, checks)


def hostile() -> StudentReport:
    """What a program printed, and a name an LMS gave, in every field a page shows."""
    wrong = check(
        "udp_server.basic",
        False,
        summary=f"wrong reply to request 0: {HOSTILE}",
        cause=Cause(HOSTILE, f"fix {HOSTILE}", f"udp_server.py line 1: {HOSTILE}"),
        evidence=(f"program output (last lines):\n    {HOSTILE}\n    Traceback {ESC}]0;title{ESC}\\",),
        steps=(
            Step(0.0, Sender.GRADER, '"hello" (5 bytes)'),
            Step(0.01, Sender.PROGRAM, HOSTILE, note=HOSTILE),
            Step(0.02, Sender.PROGRAM, HOSTILE, fate=f'x" onload="alert(3){HOSTILE}', note=HOSTILE),
        ),
    )
    return StudentReport("mallory", 0.0, 2.0, {"lms": "canvas", "lms_name": HOSTILE, "lms_id": "9"}, (wrong,))


def not_graded() -> StudentReport:
    return StudentReport(
        "carol", 0.0, 12.0, {"checks": "udp_server.basic tcp_server.basic"}, grader_error="docker: engine went away"
    )


def hand_made() -> list[StudentReport]:
    return [passing(), loopback(), hostile(), not_graded()]


def suite(report: StudentReport) -> TestSuite:
    """The JUnit suite a grading would have written for `report`: what gradebook.publish reads."""
    if report.grader_error is not None:
        properties = {**report.properties, "max_score": f"{report.max_score:g}"}
        return junit.error_suite(report.student, report.grader_error, properties)
    made = TestSuite(report.student)
    for name, value in {
        **report.properties,
        "score": f"{report.score:g}",
        "max_score": f"{report.max_score:g}",
    }.items():
        made.add_property(name, junit.xml_text(value))
    for result in report.checks:
        case = TestCase(result.check_id, report.student, 0.0)
        case.system_out = junit.check_output(result)
        made.add_testcase(case)
    return made
