"""One class of every name and file that once broke a run, graded by `grader grade` (in Docker).

Each student below was tried and broke something (issue 13): the whole run died, a student
vanished from the gradebook, the terminal was cleared, a cell ran as a formula, a run hung
for 300 s, a 3 MB command filled the gradebook. Now the run completes, every student is
listed with a message saying what is wrong and the bound that was hit, every XML file
validates, no CSV cell starts a formula, and nothing the students named reaches the terminal raw.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from pipeline_samples import GRADER

from grader import junit
from grader.names import markdown_text, report_key

# One fixture grades the whole class (or every download): more than the suite's 300 s on a busy machine.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
TEXTBOOK = ROOT / "tests" / "examples" / "textbook_complete"
MINI = ROOT / "tests" / "intake" / "mini.toml"
UDP = (TEXTBOOK / "UDPServer.py").read_text()
TCP = (TEXTBOOK / "TCPServer.py").read_text()

NOT_UTF8 = os.fsdecode(b"caf\xe9")
LONG = "y" * 252
LONG_ZIP = "z" * 251  # + ".zip": 255 bytes, the longest name a file system holds
ESCAPE = "eve\x1b[2J\x07"
FORMULAS = ["=1+2", "+x", "@x"]


def _folder(root: Path, name: str, files: dict[str, str]) -> None:
    folder = root / name
    folder.mkdir()
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)


def _zip(root: Path, name: str, entries: dict[str, str]) -> None:
    with zipfile.ZipFile(root / f"{name}.zip", "w") as archive:
        for entry, text in entries.items():
            archive.writestr(entry, text)


def make_class(root: Path) -> None:
    root.mkdir()
    _folder(root, NOT_UTF8, {"UDPServer.py": UDP})
    _folder(root, LONG, {"UDPServer.py": UDP})
    _zip(root, LONG_ZIP, {"UDPServer.py": UDP})
    _folder(root, ESCAPE, {"UDPServer.py": UDP})
    for name in FORMULAS:
        _folder(root, name, {"UDPServer.py": UDP})
    _folder(root, "-x", {"-TCPServer.py": TCP})
    _folder(root, "alice", {"UDPServer.py": UDP})
    _zip(root, "alice", {"alice/TCPServer.py": TCP})
    _folder(root, "fifo", {"TCPServer.py": TCP})
    os.mkfifo(root / "fifo" / "UDPServer.py")
    _folder(root, "big", {"UDPServer.py": UDP + "#" * (256 * 1024)})
    _folder(root, "many", {**{f"helpers/h{i:03}.py": "x = 1\n" for i in range(205)}, "zz/UDPServer.py": UDP})
    _folder(root, "linked", {})
    (root / "linked" / "UDPServer.py").symlink_to(TEXTBOOK / "UDPServer.py")
    _folder(root, "toml3mb", {"grader.toml": f'[roles.udp_server]\ncommand = ["python3", "{"A" * 3_000_000}"]\n'})
    _folder(root, "tomllong", {"grader.toml": f'[roles.udp_server]\ncommand = ["python3", "{"A" * 5000}"]\n'})
    _folder(root, "tomlnul", {"grader.toml": '[roles.udp_server]\ncommand = ["python3", "a\\u0000b"]\n'})
    _folder(root, "tomldeep", {"grader.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n"})
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    _zip(root, "slip", {"../../evil.py": UDP})


STUDENTS = 20  # folders and zips above; alice is there twice
SUBMISSION_ERRORS = {  # student -> what the message must name
    "toml3mb": "larger than 64 KiB",
    "tomllong": "4096 characters",
    "tomlnul": "control character",
    "tomldeep": "nested too deeply",
    "corrupt": "corrupt.zip: cannot unpack",
    "slip": "would land outside the submission folder",
}


def grade(submissions: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(GRADER),
            "grade",
            str(submissions),
            "--out",
            str(out),
            "--sandbox",
            "docker",
            "--assignment",
            str(MINI),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        errors="surrogateescape",
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory, docker_ready) -> tuple[Path, Path, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("any-name")
    make_class(work / "submissions")
    return work / "submissions", work / "out", grade(work / "submissions", work / "out")


@pytest.fixture(scope="module")
def reports(graded) -> dict[str, junit.StudentReport]:
    """Each student's report, by their report key (grader.names.report_key of the folder or zip name)."""
    _, out, _ = graded
    return {r.student: r for r in map(junit.report, junit.read_suites(out / "gradebook.xml"))}


def test_the_run_completes_and_lists_every_student(graded, reports):
    _, out, run = graded
    assert run.returncode == 0, run.stderr
    assert len(reports) == STUDENTS
    assert {report_key(name) for name in (NOT_UTF8, ESCAPE, *FORMULAS, "-x", "alice")} <= set(reports)
    for folder in ("junit", "feedback", "results"):
        assert len(list((out / folder).iterdir())) == STUDENTS


def test_every_xml_report_validates(graded, schema):
    _, out, _ = graded
    for file in [out / "gradebook.xml", *sorted((out / "junit").glob("*.xml"))]:
        schema.validate(str(file))


def test_no_csv_cell_can_run_as_a_formula(graded):
    _, out, _ = graded
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert len(rows) == STUDENTS + 1
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@"))]


def test_nothing_a_student_named_reaches_the_terminal_raw(graded):
    _, _, run = graded
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_names_no_file_system_holds_whole_are_graded_under_bounded_names(reports):
    for name in (LONG, LONG_ZIP, NOT_UTF8, ESCAPE):
        assert reports[report_key(name)].score == 2, name


def test_a_program_named_like_an_option_is_run_as_a_file(reports):
    student = reports[report_key("-x")]
    assert student.properties["discovered"] == "tcp_server=-TCPServer.py"
    assert student.score == 2


def test_a_folder_and_a_zip_of_one_student_are_both_graded_and_say_so(reports):
    assert reports["alice"].score == 2
    twin = reports["alice.zip"]
    assert twin.score == 2 and "keep one of them" in twin.properties["intake_notes"]


@pytest.mark.parametrize(
    ("student", "note"),
    [
        ("fifo", "UDPServer.py: skipped, not a regular file"),
        ("big", "UDPServer.py: skipped, larger than 256 KiB"),
        ("linked", "UDPServer.py: skipped, a symbolic link"),
        ("many", "read only 200 of 206 .py files"),
    ],
)
def test_what_discovery_left_out_is_in_the_feedback(graded, reports, student, note):
    _, out, _ = graded
    assert note in (out / "feedback" / f"{reports[student].student}.md").read_text()


def test_past_200_files_the_server_is_still_found(reports):
    assert reports["many"].score == 2


@pytest.mark.parametrize("student", sorted(SUBMISSION_ERRORS))
def test_an_invalid_submission_is_the_students_error_naming_the_bound_and_no_grading_machine_path(
    graded, reports, student
):
    submissions, out, _ = graded
    report = reports[student]
    problem = report.properties["submission_error"]
    assert report.grader_error is None and report.score == 0
    assert SUBMISSION_ERRORS[student] in problem
    assert len(problem) < 500 and "/tmp" not in problem and str(submissions) not in problem
    assert markdown_text(problem) in (out / "feedback" / f"{report.student}.md").read_text()  # as text, not Markdown


def test_the_3_mb_command_is_echoed_nowhere(graded):
    _, out, _ = graded
    assert (out / "gradebook.xml").stat().st_size < 1_000_000


def test_a_second_run_grades_the_invalid_submissions_from_the_cache(graded, tmp_path):
    submissions, out, _ = graded
    shutil.copytree(out, tmp_path / "out")
    run = grade(submissions, tmp_path / "out", "--only", *SUBMISSION_ERRORS)
    assert run.returncode == 0, run.stderr
    assert {line.split(":")[0] for line in run.stderr.splitlines() if line.endswith("(cached)")} == set(
        SUBMISSION_ERRORS
    )


def test_only_takes_a_student_whose_name_starts_with_a_dash(graded, tmp_path):
    submissions, out, _ = graded
    shutil.copytree(out, tmp_path / "out")
    run = grade(submissions, tmp_path / "out", "--only", "-x", "--force")
    assert run.returncode == 0, run.stderr
    assert re.search(rf"^{re.escape(report_key('-x'))}: 2/4", run.stderr, re.MULTILINE)


def test_merge_takes_the_folder_of_such_a_class(graded, tmp_path):
    _, out, _ = graded
    run = subprocess.run(
        [str(GRADER), "merge", str(out), "--out", str(tmp_path / "merged")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "merged" / "junit").glob("*.xml"))) == STUDENTS
