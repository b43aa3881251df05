"""Each LMS layout, read from the names alone: who each student is, their files' own names, the latest version."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from grader.intake import layouts

DOWNLOADS = Path(__file__).parent / "downloads"


def _paths(layout: str) -> list[str]:
    root = DOWNLOADS / layout
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _read(layout: str):
    return lambda path: (DOWNLOADS / layout / path).read_text()


def _students(layout: str, name: str | None = None) -> dict[str, layouts.StudentFiles]:
    found = layouts.detect(_paths(layout), name or layout, _read(layout))
    assert found is not None and found[0] == layout
    return {s.key: s for s in found[1].students}


def _originals(student) -> dict[str, str]:
    return {str(m.original): str(m.source) for m in student.members}


@pytest.mark.parametrize("layout", ["canvas", "moodle", "blackboard", "brightspace", "gradescope", "github-classroom"])
def test_each_shipped_download_is_recognised_as_its_own_layout(layout):
    assert layouts.detect(_paths(layout), layout, _read(layout))[0] == layout


def test_a_folder_of_student_folders_is_no_lms_layout():
    assert layouts.detect(["alice/UDPServer.py", "bob/TCPServer.py", "README.md"], "submissions", str) is None


def test_canvas_keeps_the_user_id_and_takes_the_latest_resubmission_under_its_original_name():
    students = _students("canvas")
    assert set(students) == {"smithjane_1234", "doejohn_99", "anon_Qx7pL"}
    john = students["doejohn_99"]
    assert (john.identity.id, john.identity.name) == ("99", "doejohn")
    assert _originals(john) == {
        "UDPServer.py": "doejohn_late_99_77_UDPServer-1.py",
        "text.html": "doejohn_late_99_text.html",
    }
    assert any("graded the latest (doejohn_late_99_77_UDPServer-1.py)" in note for note in john.notes)
    assert "Canvas marked this submission late" in john.notes


def test_canvas_anonymous_grading_gives_no_user_id():
    assert _students("canvas")["anon_Qx7pL"].identity.id == ""


def test_a_canvas_file_named_like_a_resubmission_alone_is_graded_under_the_students_name_with_a_note():
    parsed = layouts.canvas(["lee_5_9_UDPServer-2.py"], "dl", str)
    (student,) = parsed.students
    assert student.members[0].original == PurePosixPath("UDPServer.py")
    assert "renamed it for a resubmission" in student.notes[0]


def test_moodle_reads_the_folder_and_the_flat_variant_and_the_participant_id():
    students = _students("moodle")
    jane, ana = students["Jane Smith_5001"], students["Ana Müller_5002"]
    assert (jane.identity.id, jane.identity.name) == ("5001", "Jane Smith")
    assert set(_originals(jane)) == {"lab/UDPServer.py", "lab/TCPServer.py"}
    assert set(_originals(ana)) == {"UDPServer.py", "onlinetext.html"}


def test_blackboard_takes_the_latest_attempt_and_the_name_from_its_txt():
    jane = _students("blackboard")["jsmith"]
    assert (jane.identity.login, jane.identity.name) == ("jsmith", "Jane Smith")
    assert _originals(jane) == {"UDPServer.py": "Socket Lab_jsmith_attempt_2026-11-02-09-30-00_UDPServer.py"}
    assert jane.notes == ("2 attempts in the download; graded the latest (2026-11-02-09-30-00)",)


def test_brightspace_takes_the_latest_dated_submission_by_time_not_by_text():
    jane = _students("brightspace")["Jane Smith_152-7001"]
    assert _originals(jane) == {"UDPServer.py": "152-7001 - Jane Smith - Nov 2, 2026 930 AM/UDPServer.py"}
    assert "graded the latest (Nov 2, 2026 930 AM)" in jane.notes[0]


def test_github_classroom_keys_each_repository_by_login():
    students = _students("github-classroom")
    assert {k: s.identity.login for k, s in students.items()} == {"octocat": "octocat", "hubot": "hubot"}
    assert set(_originals(students["hubot"])) == {"server.py"}


def test_github_classroom_is_recognised_from_the_downloads_own_name_too():
    paths = ["lab-ada/UDPServer.py", "lab-bob/UDPServer.py"]
    assert layouts.github_classroom(paths, "lab-submissions", str).students[0].identity.login == "ada"
    assert layouts.github_classroom(paths, "lab", str) is None


def test_gradescope_names_each_submission_folder_from_its_metadata():
    jane = _students("gradescope")["Jane Smith_submission_301"]
    assert (jane.identity.id, jane.identity.name, jane.identity.login) == (
        "1001",
        "Jane Smith",
        "jane.smith@example.edu",
    )
    assert set(_originals(jane)) == {"lab/UDPServer.py", "lab/TCPServer.py"}


def test_gradescope_metadata_that_is_no_mapping_is_no_gradescope_download():
    paths = ["submission_metadata.yml", "submission_1/a.py"]
    assert layouts.gradescope(paths, "x", lambda p: "- [") is None
    assert layouts.gradescope(paths, "x", lambda p: "!!python/object/apply:os.system ['true']") is None
