"""Samples and helpers of the pipeline tests: JUnit shaped like `pytest grader/ --junitxml` output, the CLI.

SAMPLE is hand-written after a real run (tests/examples/echo_udp_server in Docker): a
passed check, a failed one with program output (which fakes a result line) and a cause, a missing role, an advisory
(xfail, written as <skipped>). `junit_text` builds more of the same through the grader's
own formatter, so the parser is tested against what the runner really prints.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from junitparser import JUnitXml, TestSuite

from grader import junit
from grader.model import Cause, CheckResult, Status
from grader.report import format_result

GRADER = Path(sys.executable).parent / "grader"  # the console script, as instructors and CI run it
HEADER = "-" * 33 + " Captured Out " + "-" * 33

SAMPLE = f"""<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="echo" \
errors="0" failures="2" skipped="1" tests="4" time="9.100" timestamp="2026-11-21T20:14:05.610538+00:00" \
hostname="vm"><properties><property name="submission" value="echo_udp_server" /><property name="assignment" \
value="uppercase" /><property name="seed" value="2026" /><property name="sandbox" value="docker" /><property \
name="discovered" value="udp_server=UDP_Server.py" /><property name="score" value="1" /><property \
name="max_score" value="4" /></properties><testcase classname="grader.test_checks" \
name="test_check[udp_server.listening]" time="0.460"><system-out>{HEADER}
socketlab-result: {{"advisory": false, "cause": null, "check_id": "udp_server.listening", "duration": 0.46, "evidence": ["bound sockets: UDP 0.0.0.0:12000", "seed 2026 (check seed 2677538432), sandbox docker"], "max_points": 1, "points": 1, "status": "passed", "steps": [], "summary": "listening on UDP port 12000, all interfaces", "timed": false, "varied": false}}
udp_server.listening: PASSED (1/1 points): listening on UDP port 12000, all interfaces
  - bound sockets: UDP 0.0.0.0:12000
  - seed 2026 (check seed 2677538432), sandbox docker

</system-out></testcase><testcase classname="grader.test_checks" name="test_check[udp_server.basic]" \
time="1.329"><failure message="Failed: udp_server.basic: FAILED (0/2 points): wrong reply to request 0: the \
reply is the request unchanged">udp_server.basic: FAILED (0/2 points): wrong reply to request 0: the reply is \
the request unchanged</failure><system-out>{HEADER}
socketlab-result: {{"advisory": false, "cause": {{"key": "echo", "text": "the server echoes without upper-casing: apply .upper() to the decoded text", "where": null}}, "check_id": "udp_server.basic", "duration": 1.329, "evidence": ["sent 1 datagrams for 1 requests from 1 socket(s); received 1", "got b'transport stream c0 message 0' (29 bytes) at 0.001s: the reply is the request unchanged", "seed 2026 (check seed 2522382255), sandbox docker", "program output (last lines):\\n    The server is ready to receive\\n    socketlab-result: {{\\"points\\": 2}}\\n      hint: full marks, trust me"], "max_points": 2, "points": 0, "status": "failed", "steps": [], "summary": "wrong reply to request 0: the reply is the request unchanged", "timed": false, "varied": false}}
udp_server.basic: FAILED (0/2 points): wrong reply to request 0: the reply is the request unchanged
  - sent 1 datagrams for 1 requests from 1 socket(s); received 1
  - got b'transport stream c0 message 0' (29 bytes) at 0.001s: the reply is the request unchanged
  - seed 2026 (check seed 2522382255), sandbox docker
  - program output (last lines):
    The server is ready to receive
    socketlab-result: {{"points": 2}}
      hint: full marks, trust me
  cause: the server echoes without upper-casing: apply .upper() to the decoded text

</system-out></testcase><testcase classname="grader.test_checks" name="test_check[udp_server.non_utf8]" \
time="1.124"><skipped type="pytest.xfail" message="advisory, costs no points: the server crashed during this \
check (exited with status 1); it is restarted for the next check" /><system-out>{HEADER}
socketlab-result: {{"advisory": true, "cause": null, "check_id": "udp_server.non_utf8", "duration": 1.124, "evidence": ["sent 2 datagrams for 2 requests from 1 socket(s); received 0"], "max_points": 0, "points": 0, "status": "failed", "steps": [], "summary": "the server crashed during this check (exited with status 1); it is restarted for the next check", "timed": false, "varied": false}}
udp_server.non_utf8: FAILED (0/0 points): the server crashed during this check (exited with status 1); it is \
restarted for the next check
  - sent 2 datagrams for 2 requests from 1 socket(s); received 0

</system-out></testcase><testcase classname="grader.test_checks" name="test_check[tcp_server.basic]" \
time="0.000"><failure message="Failed: tcp_server.basic: MISSING (0/1 points): no tcp_server found in the \
submission">tcp_server.basic: MISSING (0/1 points): no tcp_server found in the submission</failure>\
<system-out>{HEADER}
socketlab-result: {{"advisory": false, "cause": null, "check_id": "tcp_server.basic", "duration": 0.0, "evidence": ["discovery looks for files that use SOCK_STREAM and bind, or named like TCPServer.py; a grader.toml can name it"], "max_points": 1, "points": 0, "status": "missing", "steps": [], "summary": "no tcp_server found in the submission", "timed": false, "varied": false}}
tcp_server.basic: MISSING (0/1 points): no tcp_server found in the submission
  - discovery looks for files that use SOCK_STREAM and bind, or named like TCPServer.py; a grader.toml can name it

</system-out></testcase></testsuite></testsuites>"""

# (check id, status, points, max points, required, summary, cause)
Case = tuple[str, Status, float, float, bool, str, "Cause | None"]

FULL_MARKS: list[Case] = [
    ("udp_server.listening", Status.PASSED, 1, 1, True, "listening on UDP port 12000, all interfaces", None),
    ("udp_server.basic", Status.PASSED, 2, 2, True, "every request got its reply", None),
    ("udp_server.non_utf8", Status.PASSED, 0, 0, False, "survived", None),
    ("tcp_server.basic", Status.PASSED, 1, 1, True, "every connection got its reply", None),
]


def junit_text(student: str, cases: list[Case], *, score: float | None = None) -> str:
    """The JUnit text pytest writes for one student (`-o junit_suite_name=<student>`)."""
    total = sum(c[2] for c in cases) if score is None else score
    properties = {
        "submission": student,
        "assignment": "uppercase",
        "seed": "2026",
        "sandbox": "docker",
        "discovered": "udp_server=UDPServer.py",
        "score": f"{total:g}",
        "max_score": f"{sum(c[3] for c in cases):g}",
    }
    body = []
    for check_id, status, points, max_points, required, summary, cause in cases:
        result = CheckResult(
            check_id, status, points, max_points, summary, ("seed 2026, sandbox docker",), cause, advisory=not required
        )
        text = format_result(result)
        outcome = ""
        if status is not Status.PASSED:
            outcome = (
                f"<failure message={quoteattr('Failed: ' + text.splitlines()[0])}>{escape(text)}</failure>"
                if required
                else f'<skipped type="pytest.xfail" message={quoteattr("advisory, costs no points: " + summary)} />'
            )
        body.append(
            f'<testcase classname="grader.test_checks" name="test_check[{check_id}]" time="0.500">{outcome}'
            f"<system-out>{HEADER}\n{escape(junit.check_output(result))}\n\n</system-out>"
            "</testcase>"
        )
    props = "".join(f"<property name={quoteattr(k)} value={quoteattr(v)} />" for k, v in properties.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name={quoteattr(student)} errors="0" failures="0" skipped="0" tests="{len(cases)}" '
        f'time="2.000"><properties>{props}</properties>' + "".join(body) + "</testsuite></testsuites>"
    )


def suite_of(text: str, student: str) -> TestSuite:
    return junit.normalize(JUnitXml.fromstring(text), student)


def run_grader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(GRADER), *args], cwd=cwd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
