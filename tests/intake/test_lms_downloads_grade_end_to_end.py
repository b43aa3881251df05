"""Each shipped LMS download through `grader grade` (in Docker), then `grader handback`.

What must come out: every student under the LMS's identity, their programs found under
the file names they gave them, the latest resubmission graded (the drafts in the
downloads would score 0), and grade files the LMS imports.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import junit

# One fixture grades the whole class (or every download): more than the suite's 300 s on a busy machine.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

HERE = Path(__file__).parent
GRADER = Path(sys.executable).parent / "grader"  # the console script, as instructors run it
DOWNLOADS = HERE / "downloads"
MINI = HERE / "mini.toml"

# layout -> student key -> (score of 4, properties the reports carry, programs found)
EXPECTED = {
    "canvas": {
        "smithjane_1234": (
            4,
            {"lms": "canvas", "lms_id": "1234", "lms_name": "smithjane"},
            "udp_server=UDPServer.py, tcp_server=TCPServer.py",
        ),
        "doejohn_99": (2, {"lms_id": "99", "lms_name": "doejohn"}, "udp_server=UDPServer.py"),
        "anon_Qx7pL": (2, {"lms": "canvas", "lms_name": "anon_Qx7pL"}, "udp_server=UDPServer.py"),
    },
    "moodle": {
        "Jane Smith_5001": (
            4,
            {"lms": "moodle", "lms_id": "5001", "lms_name": "Jane Smith"},
            "udp_server=lab/UDPServer.py, tcp_server=lab/TCPServer.py",
        ),
        "Ana Müller_5002": (2, {"lms_id": "5002", "lms_name": "Ana Müller"}, "udp_server=UDPServer.py"),
    },
    "blackboard": {
        "jsmith": (
            2,
            {"lms": "blackboard", "lms_login": "jsmith", "lms_name": "Jane Smith"},
            "udp_server=UDPServer.py",
        ),
        "bdoe": (2, {"lms_login": "bdoe", "lms_name": "Bo Doe"}, "tcp_server=TCPServer.py"),
    },
    "brightspace": {
        "Jane Smith_152-7001": (
            2,
            {"lms": "brightspace", "lms_id": "152-7001", "lms_name": "Jane Smith"},
            "udp_server=UDPServer.py",
        ),
        "Bo Doe_153-7002": (2, {"lms_name": "Bo Doe"}, "tcp_server=TCPServer.py"),
    },
    "gradescope": {
        "Jane Smith_submission_301": (
            4,
            {"lms": "gradescope", "lms_id": "1001", "lms_name": "Jane Smith", "lms_login": "jane.smith@example.edu"},
            "udp_server=lab/UDPServer.py, tcp_server=lab/TCPServer.py",
        ),
        "Bo Doe_submission_302": (2, {"lms_id": "1002", "lms_name": "Bo Doe"}, "udp_server=UDPServer.py"),
    },
    "github-classroom": {
        "octocat": (
            4,
            {"lms": "github-classroom", "lms_login": "octocat"},
            "udp_server=UDPServer.py, tcp_server=TCPServer.py",
        ),
        "hubot": (2, {"lms_login": "hubot"}, "tcp_server=server.py"),
    },
}


def grade(download: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(GRADER), "grade", str(download), "--out", str(out), "--sandbox", "docker", "--assignment", str(MINI)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def zipped(folder: Path, target: Path, top: str = "") -> Path:
    """The folder's files as the LMS zips them: paths relative to the folder, under `top` if given."""
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, top + file.relative_to(folder).as_posix())
    return target


@pytest.fixture(scope="module")
def graded(tmp_path_factory, docker_ready) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every shipped download graded once, as downloaded (all but GitHub Classroom's give a zip)."""
    results = {}
    for layout in EXPECTED:
        work = tmp_path_factory.mktemp(layout)
        source = DOWNLOADS / layout
        # Gradescope's export zip holds one folder, assignment_<id>_export/.
        top = "assignment_9100_export/" if layout == "gradescope" else ""
        download = source if layout == "github-classroom" else zipped(source, work / f"{layout}-download.zip", top)
        results[layout] = (work / "out", grade(download, work / "out"))
    return results


@pytest.mark.parametrize("layout", list(EXPECTED))
def test_a_download_grades_every_student_under_their_lms_identity_and_file_names(layout, graded):
    out, run = graded[layout]
    assert run.returncode == 0, run.stderr
    assert f"a {layout} download, {len(EXPECTED[layout])} student(s)" in " ".join(run.stderr.split())
    reports = {r.student: r for r in map(junit.report, junit.read_suites(out / "gradebook.xml"))}
    assert set(reports) == set(EXPECTED[layout])
    for student, (score, properties, discovered) in EXPECTED[layout].items():
        report = reports[student]
        assert report.score == score, (student, report.checks)
        assert properties.items() <= report.properties.items()
        assert report.properties["discovered"] == discovered


@pytest.mark.parametrize("layout", list(EXPECTED))
def test_every_report_of_a_download_is_valid_junit(layout, graded, schema):
    out, _ = graded[layout]
    for file in [out / "gradebook.xml", *sorted((out / "junit").glob("*.xml"))]:
        schema.validate(str(file))


@pytest.mark.parametrize(
    ("layout", "student", "note"),
    [
        ("canvas", "doejohn_99", "UDPServer.py: 2 versions in the download; graded the latest"),
        ("blackboard", "jsmith", "2 attempts in the download; graded the latest (2026-11-02-09-30-00)"),
        ("brightspace", "Jane Smith_152-7001", "2 submissions in the download; graded the latest"),
        ("gradescope", "Bo Doe_submission_302", "a group submission of 2; graded once, under its first submitter"),
    ],
)
def test_the_feedback_says_which_resubmission_was_graded(layout, student, note, graded):
    out, _ = graded[layout]
    assert note in (out / "feedback" / f"{student}.md").read_text()


def test_a_folder_download_grades_as_its_zip_does(graded, tmp_path):
    out, _ = graded["moodle"]
    run = grade(DOWNLOADS / "moodle", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()


def test_a_layout_forced_on_a_download_that_is_not_one_is_refused_in_one_line(tmp_path):
    run = subprocess.run(
        [
            str(GRADER),
            "grade",
            str(DOWNLOADS / "moodle"),
            "--layout",
            "canvas",
            "--out",
            str(tmp_path / "out"),
            "--sandbox",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "check --layout" in run.stderr


def handback(out: Path, *args: str) -> tuple[list[list[str]], str]:
    run = subprocess.run([str(GRADER), "handback", str(out), *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    written = Path(run.stdout.split(":")[0].removeprefix("wrote "))
    return list(csv.reader(io.StringIO(written.read_text(encoding="utf-8"), newline=""))), run.stderr


def test_the_canvas_import_has_canvas_header_points_row_and_one_row_per_known_student(graded):
    out, _ = graded["canvas"]
    rows, missing = handback(out, "--format", "canvas", "--title", "Socket Lab", "--assignment-id", "31337")
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Socket Lab (31337)"],
        ["    Points Possible", "", "", "", "", "4"],
        ["doejohn", "99", "", "", "", "2"],
        ["smithjane", "1234", "", "", "", "4"],
    ]
    assert "anon_Qx7pL: no Canvas user id" in missing


def test_the_moodle_worksheet_names_each_participant_and_carries_the_comment(graded):
    out, _ = graded["moodle"]
    rows, _ = handback(out, "--format", "moodle")
    assert rows[0] == [
        "Identifier",
        "Full name",
        "Grade",
        "Maximum Grade",
        "Last modified (grade)",
        "Feedback comments",
    ]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"Participant 5001", "Participant 5002"}
    assert by_id["Participant 5002"][1:5] == ["Ana Müller", "2", "4", ""]
    assert by_id["Participant 5002"][5].startswith("Score 2/4 (50 %). What cost points: no tcp_server found")


def test_the_plain_csv_is_keyed_by_github_login(graded):
    out, _ = graded["github-classroom"]
    rows, _ = handback(out, "--format", "csv")
    assert [row[:6] for row in rows] == [
        ["login", "name", "lms_id", "score", "max_score", "percent"],
        ["hubot", "", "", "2", "4", "50.0"],
        ["octocat", "", "", "4", "4", "100.0"],
    ]
    assert rows[2][6] == "Score 4/4 (100 %). Every required check passed."


def test_a_second_run_over_the_same_download_grades_nothing_again(graded, tmp_path):
    out, _ = graded["github-classroom"]
    shutil.copytree(out, tmp_path / "out")
    run = grade(DOWNLOADS / "github-classroom", tmp_path / "out")
    assert run.stderr.count("(cached)") == 2, run.stderr
