"""`grader grade --sandbox local`: every report says it was not sandboxed, and as root students stay out.

One class graded once, under umask 077, with the grader's temporary folders in a folder
of this test (its TMPDIR) that every user may list: alice hands in the reference with
files only root could read, mallory hands in programs that try what a student program
should not manage (write next to the grader's JUnit report, into her own original, read
alice's report) and print what they managed where the report shows it: in the server's
output (her server answers its first datagram wrong, so that check fails and quotes the
output, and the others pass quickly) and in the client's (it prints nothing else).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pipeline_samples import GRADER

from grader import cli, gradebook, junit
from grader.report import format_result

ROOT = Path(__file__).resolve().parents[2]
STALE_CSV = "student,score\nalice,25\n"  # an earlier run's gradebook, written under the usual umask

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="only root can start a program as another user; run the tests as root "
    "(CI does) to check that local mode does",
)

OBSERVE = """
import os
ROOT, ORIGINAL, REPORTS, ROLE = {root!r}, {original!r}, {reports!r}, {role!r}


def wrote(folder):
    try:
        open(os.path.join(folder, "planted-by-" + ROLE), "x").close()
        return True
    except OSError:
        return False


def readable(path):
    try:
        open(path, "rb").close()
        return True
    except OSError:
        return False


scratch = sorted(name for name in os.listdir(ROOT) if name.startswith("socketlab-"))
print("observed uid:", os.getuid(), os.getgid(), sorted(os.getgroups()))
print("observed scratch seen:", " ".join(scratch) or "none")
print("observed scratch written:", " ".join(s for s in scratch if wrote(os.path.join(ROOT, s))) or "none")
print("observed original written:", wrote(ORIGINAL))
print("observed reports read:", " ".join(p for p in ("junit/alice.xml", "gradebook.csv")
                                         if readable(os.path.join(REPORTS, p))) or "none")
print("observed reports written:", " ".join(p for p in (".", "junit") if wrote(os.path.join(REPORTS, p))) or "none",
      flush=True)
"""

SERVER = """
from socket import AF_INET, SOCK_DGRAM, socket

server = socket(AF_INET, SOCK_DGRAM)
server.bind(("", 12000))
reply = lambda message: b"observed"  # the first check that sends anything fails, and quotes the output above
while True:
    message, address = server.recvfrom(65535)
    server.sendto(reply(message), address)
    reply = lambda message: message.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")
"""


@dataclass(frozen=True)
class Graded:
    proc: subprocess.CompletedProcess
    root: Path
    reports: Path
    original: Path

    def suite(self, student: str):
        return junit.read_suites(self.reports / "junit" / f"{student}.xml")[0]

    def observed(self, check_id: str) -> dict[str, str]:
        check = next(c for c in junit.report(self.suite("mallory")).checks if c.check_id == check_id)
        return dict(re.findall(r"observed ([\w ]+): (.*)", format_result(check)))


@pytest.fixture(scope="module")
def graded() -> Iterator[Graded]:
    root = Path(tempfile.mkdtemp(prefix="local-mode-test-"))
    try:
        root.chmod(0o755)  # like /tmp, less its write bit for everyone
        alice = root / "class" / "alice"
        shutil.copytree(ROOT / "reference", alice)
        for path in [*alice.rglob("*"), alice]:
            path.chmod(0o700 if path.is_dir() else 0o600)
        mallory = root / "class" / "mallory"
        mallory.mkdir()
        reports = root / "reports"
        reports.mkdir()
        (reports / "gradebook.csv").write_text(STALE_CSV)
        for role, body in (("udp_server", SERVER), ("udp_client", "")):
            (mallory / f"{role}.py").write_text(
                OBSERVE.format(root=str(root), original=str(mallory), reports=str(reports), role=role) + body
            )
        for path in (root / "class", mallory, reports):
            path.chmod(0o755)
        proc = subprocess.run(
            [str(GRADER), "grade", "class", "--out", "reports", "--sandbox", "local"],
            cwd=root,
            env={**os.environ, "TMPDIR": str(root)},
            umask=0o077,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield Graded(proc, root, reports, mallory)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def _words(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines at the terminal's width


# --- marks ---------------------------------------------------------------------------------


def test_the_reference_scores_full_marks_though_its_files_were_private_to_root(graded):
    report = junit.report(graded.suite("alice"))
    assert report.score == report.max_score > 0, [c.summary for c in report.failures]


# --- as root: the student's programs are kept away from the grader --------------------------


@needs_root
@pytest.mark.parametrize("check_id", ["udp_server.basic", "udp_client.prints_reply"])
def test_a_student_program_runs_as_nobody(graded, check_id):
    nobody = _nobody()
    assert graded.observed(check_id)["uid"] == f"{nobody.pw_uid} {nobody.pw_gid} []"


@needs_root
@pytest.mark.parametrize("check_id", ["udp_server.basic", "udp_client.prints_reply"])
def test_a_student_program_cannot_write_next_to_the_graders_junit_report(graded, check_id):
    observed = graded.observed(check_id)
    assert re.search(r"socketlab-\d+-mallory-", observed["scratch seen"]), "the folder of mallory's JUnit report"
    assert observed["scratch written"] == "none"


@needs_root
@pytest.mark.parametrize("check_id", ["udp_server.basic", "udp_client.prints_reply"])
def test_a_student_program_cannot_write_into_its_submission_original(graded, check_id):
    assert graded.observed(check_id)["original written"] == "False"
    assert sorted(os.listdir(graded.original)) == ["udp_client.py", "udp_server.py"]


@needs_root
@pytest.mark.parametrize("check_id", ["udp_server.basic", "udp_client.prints_reply"])
def test_a_student_program_cannot_read_other_students_reports(graded, check_id):
    assert graded.observed(check_id)["reports read"] == "none"


@needs_root
@pytest.mark.parametrize("check_id", ["udp_server.basic", "udp_client.prints_reply"])
def test_a_student_program_cannot_write_into_the_report_folder(graded, check_id):
    assert graded.observed(check_id)["reports written"] == "none"


@needs_root
def test_what_the_grader_writes_under_out_is_closed_to_other_users(graded):
    opened = [
        str(path.relative_to(graded.reports))
        for path in graded.reports.rglob("*")
        if stat.S_IMODE(path.lstat().st_mode) & 0o007
    ]
    assert opened == []


@needs_root
def test_the_instructors_report_folder_keeps_its_mode(graded):
    assert stat.S_IMODE(graded.reports.stat().st_mode) == 0o755


def test_an_earlier_runs_reports_are_closed_to_other_users_but_not_what_a_symlink_points_at(tmp_path):
    out, elsewhere = tmp_path / "reports", tmp_path / "elsewhere.xml"
    (out / "junit").mkdir(parents=True)
    for path in (out / "gradebook.csv", out / "junit" / "alice.xml", elsewhere):
        path.write_text("")
        path.chmod(0o644)
    (out / "junit").chmod(0o755)
    out.chmod(0o755)
    (out / "gradebook.xml").symlink_to(elsewhere)

    cli._withhold_reports(out)

    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in (out, out / "junit", out / "gradebook.csv", out / "junit" / "alice.xml", elsewhere)
    }
    assert modes == {
        "reports": 0o755,
        "junit": 0o750,
        "gradebook.csv": 0o640,
        "alice.xml": 0o644,
        "elsewhere.xml": 0o644,
    }


# --- every report says it was not sandboxed --------------------------------------------------


def _top_of(graded: Graded, kind: str) -> str:
    if kind == "junit properties":
        properties = {p.name: p.value for p in graded.suite("mallory").properties()}
        return f"{properties['sandbox']}\n{properties['warning']}"
    if kind == "feedback":
        return "\n".join((graded.reports / "feedback" / "mallory.md").read_text().splitlines()[:3])
    if kind == "gradescope output":
        return json.loads((graded.reports / "results" / "mallory.json").read_text())["output"].split("\n\n")[0]
    if kind == "grade summary":
        return _words(graded.proc.stdout.split("student(s)")[0])
    return _words(graded.proc.stderr.split("grading")[0])  # the start of `grader grade`, before its progress bar


@pytest.mark.parametrize("kind", ["junit properties", "feedback", "gradescope output", "grade summary", "grade start"])
def test_every_report_of_a_local_grading_says_at_the_top_that_it_was_not_sandboxed(graded, kind):
    top = _top_of(graded, kind)
    assert "Not sandboxed: student programs" in top and "as ordinary processes on this machine" in top


@pytest.mark.parametrize("verbosity", ["-v", "-q"])
def test_the_pytest_report_header_warns_that_local_mode_is_not_sandboxed(verbosity, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "grader/",
            "--submission",
            "reference",
            "--sandbox",
            "local",
            "--collect-only",
            verbosity,
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    before_tests = proc.stdout.split("test_check[")[0]
    assert "WARNING: Not sandboxed: student programs run as ordinary processes on this machine" in before_tests


def test_a_report_graded_in_docker_starts_as_before(make_suite):
    report = junit.report(make_suite("bob"))
    assert gradebook.feedback(report).splitlines()[:3] == ["# bob", "", "**Score: 4/4 (100.0 %)**"]
    assert gradebook.gradescope(report)["output"] == "Score: 4/4 (100.0 %)"


def test_a_report_with_a_warning_shows_it_before_the_score(make_suite):
    suite = make_suite("bob")
    suite.add_property("warning", "Not sandboxed: student programs ran as ordinary processes on this machine.")
    report = junit.report(suite)
    assert gradebook.feedback(report).splitlines()[2] == (
        "> **Warning:** Not sandboxed: student programs ran as ordinary processes on this machine."
    )
    assert gradebook.gradescope(report)["output"].startswith("Warning: Not sandboxed")
