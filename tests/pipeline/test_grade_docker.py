"""`grader grade` end to end in Docker: real submissions, every output file checked, the cache, stopping.

A small assignment (a few UDP server checks) keeps each grading to seconds.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import docker
import psutil
import pytest
from junitparser import JUnitXml
from pipeline_samples import GRADER, run_grader

from grader.sandbox.docker import LABEL, SUBMISSION_LABEL

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SPEC = """\
name = "udp-mini"
seed = 11

[[checks]]
id = "udp_server.listening"
kind = "listening"
points = 1

[[checks]]
id = "udp_server.basic"
kind = "udp_exchange"
points = 2

[[checks]]
id = "udp_server.non_ascii"
kind = "udp_exchange"
points = 1
params = { payload = "non_ascii" }

[[checks]]
id = "udp_server.empty_datagram"
kind = "udp_exchange"
points = 0
required = false
params = { payload = "empty" }
"""
CHECKS = ["udp_server.listening", "udp_server.basic", "udp_server.non_ascii", "udp_server.empty_datagram"]

# Declares a UDP server but never binds: the grader waits for it until its startup timeout.
SILENT_SERVER = """\
from socket import *
import time
serverSocket = socket(AF_INET, SOCK_DGRAM)
if time.time() < 0:
    serverSocket.bind(('', 12000))
time.sleep(600)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory, docker_ready):
    """Three submissions (two folders and a zip) graded once, then again with nothing changed."""
    root = tmp_path_factory.mktemp("grade")
    subs = root / "submissions"
    shutil.copytree(EXAMPLES / "textbook_udp_server", subs / "textbook")
    shutil.copytree(EXAMPLES / "echo_udp_server", subs / "echo")
    with zipfile.ZipFile(subs / "zipped.zip", "w") as archive:
        for file in (EXAMPLES / "textbook_udp_server").iterdir():
            archive.write(file, f"textbook_udp_server/{file.name}")
    (root / "mini.toml").write_text(SPEC)
    args = (
        "grade",
        "submissions",
        "--out",
        "reports",
        "--assignment",
        "mini.toml",
        "--sandbox",
        "docker",
        "--jobs",
        "3",
    )
    first = run_grader(*args, cwd=root)
    junit_times = {p.name: p.stat().st_mtime_ns for p in (root / "reports" / "junit").iterdir()}
    second = run_grader(*args, cwd=root)
    return root / "reports", first, second, junit_times


STUDENTS = ["echo", "textbook", "zipped"]


def test_grading_completes_with_exit_status_0(graded):
    _, first, second, _ = graded
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in first.stderr


def test_each_students_junit_passes_the_schema_and_names_the_student(graded, schema):
    reports = graded[0]
    assert sorted(p.stem for p in (reports / "junit").iterdir()) == STUDENTS
    for student in STUDENTS:
        path = reports / "junit" / f"{student}.xml"
        schema.validate(str(path))
        [suite] = JUnitXml.fromfile(str(path))
        assert suite.name == student
        assert [(c.classname, c.name) for c in suite] == [(student, check) for check in CHECKS]


def test_the_gradebook_xml_passes_the_schema_and_reads_back_with_scores(graded, schema):
    reports = graded[0]
    schema.validate(str(reports / "gradebook.xml"))
    book = JUnitXml.fromfile(str(reports / "gradebook.xml"))
    scores = {s.name: {p.name: p.value for p in s.properties()} for s in book}
    assert {name: (p["score"], p["max_score"]) for name, p in scores.items()} == {
        "echo": ("1", "4"),
        "textbook": ("4", "4"),
        "zipped": ("4", "4"),
    }
    assert {p["seed"] for p in scores.values()} == {"11"}


def test_the_csv_has_one_row_per_student_and_one_column_per_check(graded):
    rows = list(csv.reader((graded[0] / "gradebook.csv").open()))
    assert rows[0] == ["student", "score", "max_score", "percent", *CHECKS, "varied"]
    assert [r[:7] for r in rows[1:]] == [
        ["echo", "1", "4", "25.0", "1", "0", "0"],
        ["textbook", "4", "4", "100.0", "1", "2", "1"],
        ["zipped", "4", "4", "100.0", "1", "2", "1"],
    ]


def test_the_gradescope_results_have_their_fields(graded):
    for student in STUDENTS:
        results = json.loads((graded[0] / "results" / f"{student}.json").read_text())
        assert [t["name"] for t in results["tests"]] == CHECKS
        assert all(t["status"] in ("passed", "failed") and "output" in t for t in results["tests"])
        assert results["score"] == sum(t["score"] for t in results["tests"])
    echo = json.loads((graded[0] / "results" / "echo.json").read_text())
    assert echo["tests"][1] | {"output": ""} == {
        "name": "udp_server.basic",
        "score": 0.0,
        "max_score": 2.0,
        "status": "failed",
        "output": "",
    }


def test_feedback_explains_the_failures(graded):
    for student in STUDENTS:
        assert (graded[0] / "feedback" / f"{student}.md").is_file()
    echo = (graded[0] / "feedback" / "echo.md").read_text()
    causes = echo.index("## What cost points")
    assert echo.index("Score: 1/4") < causes < echo.index("### udp_server.basic")
    assert "1. the server echoes without upper-casing: apply .upper() to the decoded text" in echo[causes:]


def test_running_again_grades_nothing_that_did_not_change(graded):
    reports, _, second, junit_times = graded
    assert second.stderr.count("(cached)") == 3, second.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (reports / "junit").iterdir()} == junit_times


def _containers_mounting(folder: Path) -> list[str]:
    """The containers and volumes of `folder`'s grading (its name is unique to each test)."""
    client = docker.from_env()
    selector = {"label": f"{SUBMISSION_LABEL}={folder.name}"}
    try:
        # The low-level API lists without inspecting each object, which races with other gradings removing theirs.
        return [c["Id"] for c in client.api.containers(all=True, filters=selector)] + [
            v["Name"] for v in client.api.volumes(filters=selector).get("Volumes") or []
        ]
    finally:
        client.close()


def _silent_class(tmp_path: Path) -> Path:
    (tmp_path / "submissions" / "silent").mkdir(parents=True)
    (tmp_path / "submissions" / "silent" / "UDPServer.py").write_text(SILENT_SERVER)
    (tmp_path / "mini.toml").write_text(SPEC.replace("seed = 11", "seed = 11\n[timeouts]\nstartup = 60.0"))
    return tmp_path / "submissions" / "silent"


def _start(tmp_path: Path, *extra: str, sigint_ignored: bool = False) -> subprocess.Popen:
    # sigint_ignored: started as a shell's background job (`grader grade ... &`, nohup) is.
    return subprocess.Popen(
        [
            str(GRADER),
            "grade",
            "submissions",
            "--out",
            "reports",
            "--assignment",
            "mini.toml",
            "--sandbox",
            "docker",
            *extra,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )


def _await_container(folder: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not _containers_mounting(folder):
        assert process.poll() is None and time.monotonic() < deadline, "the silent server never started"
        time.sleep(0.2)


# Answers its first datagram, then goes quiet: what it earned before must outlive the time limit.
ONCE_SERVER = """\
from socket import *
import time
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
message, clientAddress = serverSocket.recvfrom(2048)
serverSocket.sendto(message.decode().upper().encode(), clientAddress)
time.sleep(600)
"""


def test_a_submission_past_its_time_limit_keeps_the_points_it_earned_before(tmp_path, docker_ready):
    folder = tmp_path / "submissions" / "once"
    folder.mkdir(parents=True)
    (folder / "UDPServer.py").write_text(ONCE_SERVER)
    patient = 'params = { payload = "non_ascii", reply_timeout = 10.0, retries = 5 }'
    (tmp_path / "mini.toml").write_text(SPEC.replace('params = { payload = "non_ascii" }', patient))
    process = _start(tmp_path, "--time-limit", "8")
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stdout + stderr
    assert _containers_mounting(folder) == []
    rows = list(csv.reader((tmp_path / "reports" / "gradebook.csv").open()))
    assert rows[1] == ["once", "3", "4", "75.0", "1", "2", "0", "0", ""]
    suite = JUnitXml.fromfile(str(tmp_path / "reports" / "junit" / "once.xml"))
    failures = {case.name: case.result[0].message for s in suite for case in s if case.result}
    assert (
        "FAILED (0/1 points): the submission time limit (8 s) ran out during this check"
        in failures["udp_server.non_ascii"]
    )
    assert "not run: the submission time limit (8 s) ran out before this check" in failures["udp_server.empty_datagram"]


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "started_in_background"])
def test_ctrl_c_stops_cleanly_and_leaves_no_container(tmp_path, docker_ready, sigint_ignored):
    folder = _silent_class(tmp_path)
    process = _start(tmp_path, sigint_ignored=sigint_ignored)
    _await_container(folder, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "Interrupted" in stderr
    assert _containers_mounting(folder) == []
    assert (tmp_path / "reports" / "gradebook.xml").is_file()


def _networks_of_dead_owners() -> list[str]:
    client = docker.from_env()
    try:
        dead = []
        for network in client.api.networks(filters={"label": LABEL}):
            pid = (network.get("Labels") or {}).get("socketlab.owner", ":").partition(":")[2]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                dead.append(network["Name"])
        return dead
    finally:
        client.close()


def test_after_a_sigkill_mid_run_the_next_run_completes_and_nothing_is_left(tmp_path, docker_ready):
    folder = _silent_class(tmp_path)
    killed = _start(tmp_path)
    _await_container(folder, killed)
    killed.kill()
    killed.communicate(timeout=30)
    again = _start(tmp_path, "--time-limit", "8")
    stdout, stderr = again.communicate(timeout=180)
    assert again.returncode == 0, stdout + stderr
    assert (tmp_path / "reports" / "gradebook.xml").is_file()
    assert _containers_mounting(folder) == []
    assert _networks_of_dead_owners() == []
    assert list(Path(tempfile.gettempdir()).glob(f"socketlab-{killed.pid}-*")) == []  # its scratch folders
