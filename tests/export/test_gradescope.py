"""Gradescope end to end: `grader export gradescope`, its autograder.zip unpacked into a scratch root laid out
as /autograder, and its run_autograder run there as Gradescope runs it (as root, AUTOGRADER_ROOT set).

Three submissions: the reference (full marks), the reference without its TCP client (it
loses exactly the tcp_client checks' points), and a hostile one whose UDP server tries,
before serving like the reference, to write a fake results.json, to kill the grader, to
read the grader's files, and leaves a daemon that keeps trying. It changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from platform_runs import ASSIGNMENT, copy_submission, environment, open_root, points_of, reference_files, run, unzip

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="only root can run student programs as another user, as Gradescope's "
    "root does; run the tests as root (CI does)",
)

TOP_FIELDS = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "tests",
    "extra_data",
}
TEST_FIELDS = {"name", "number", "score", "max_score", "status", "output", "output_format", "visibility", "tags"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}

HOSTILE = '''
import json, os, signal, time
ROOT, DROP = {root!r}, {drop!r}
RESULTS = os.path.join(ROOT, "results", "results.json")


def attempt(action):
    try:
        action()
        return "done"
    except OSError as exc:
        return type(exc).__name__


def write_fake():
    with open(RESULTS, "w") as fake:
        fake.write(json.dumps({{"score": 1000, "output": "planted", "tests": []}}))


def read_grader():
    open(os.path.join(ROOT, "source", "assignment.toml")).read()


def grader_pids():
    """This grading's own grader processes: the ancestors that run the grader (none other of this machine)."""
    found, pid = [], os.getppid()
    while pid > 1:
        try:
            command = open("/proc/%d/cmdline" % pid, "rb").read()
            pid_next = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
        if b"grader" in command:
            found.append(pid)
        pid = pid_next
    return found


def kill_all():
    return {{pid: attempt(lambda: os.kill(pid, signal.SIGKILL)) for pid in grader_pids()}}


read_end, write_end = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # the daemon: out of the program's session, it keeps trying
        os.write(write_end, str(os.getpid()).encode())
        for _ in range(600):
            write_fake() if attempt(write_fake) == "done" else None
            kill_all()
            time.sleep(0.2)
    os._exit(0)
daemon = int(os.read(read_end, 32))
record = {{"results": attempt(write_fake), "kills": kill_all(), "source": attempt(read_grader), "daemon": daemon}}
with open(os.path.join(DROP, "server-%d.json" % os.getpid()), "w") as out:
    json.dump(record, out)
'''


@dataclass(frozen=True)
class Graded:
    results: dict
    results_text: str
    returncode: int
    log: str
    drop: Path | None = None


@pytest.fixture(scope="module")
def autograder_zip(exported) -> Path:
    return exported("gradescope") / "autograder.zip"


def _grade(autograder_zip: Path, files: dict[str, str], drop: Path | None = None, root: Path | None = None) -> Graded:
    source = root / "source"
    unzip(autograder_zip, source)
    shutil.copy2(source / "run_autograder", root / "run_autograder")  # where Gradescope's image build puts it
    (root / "results").mkdir()
    copy_submission(files, root / "submission")
    proc = run(
        [str(root / "run_autograder")], root, environment(source / "socketlab-grader", AUTOGRADER_ROOT=str(root))
    )
    text = (root / "results" / "results.json").read_text(encoding="utf-8")
    return Graded(json.loads(text), text, proc.returncode, proc.stdout + proc.stderr, drop)


@pytest.fixture(scope="module")
def reference(autograder_zip) -> Graded:
    with open_root("gradescope-reference") as root:
        return _grade(autograder_zip, reference_files(), root=root)


@pytest.fixture(scope="module")
def without_tcp_client(autograder_zip) -> Graded:
    with open_root("gradescope-broken") as root:
        return _grade(autograder_zip, reference_files(without=("tcp_client",)), root=root)


@pytest.fixture(scope="module")
def hostile(autograder_zip) -> Iterator[Graded]:
    with open_root("gradescope-hostile") as root:
        drop = root / "drop"
        drop.mkdir()
        drop.chmod(0o1777)  # where the hostile program reports what it managed
        files = reference_files()
        future = "from __future__ import annotations\n"  # which must stay the reference's first statement
        head, tail = files["udp_server.py"].split(future, 1)
        files["udp_server.py"] = head + future + HOSTILE.format(root=str(root), drop=str(drop)) + tail
        yield _grade(autograder_zip, files, drop, root)


# --- the bundle ------------------------------------------------------------------------------


def test_the_zip_has_setup_sh_and_an_executable_run_autograder_at_its_root(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in zipped.infolist()}
    assert modes["setup.sh"] & 0o100 and modes["run_autograder"] & 0o100
    assert "assignment.toml" in modes and "socketlab-grader/pyproject.toml" in modes


def test_setup_sh_makes_the_student_account_that_run_autograder_names(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        setup, runner = (zipped.read(name).decode() for name in ("setup.sh", "run_autograder"))
    assert "useradd --system" in setup and "socketlab-student" in setup
    assert 'SOCKETLAB_STUDENT_USER="${SOCKETLAB_STUDENT_USER:-socketlab-student}"' in runner


# --- results.json ----------------------------------------------------------------------------


def test_the_reference_scores_full_marks(reference):
    assert reference.returncode == 0, reference.log
    assert reference.results["score"] == ASSIGNMENT.max_points > 0, reference.results["output"]
    assert {t["status"] for t in reference.results["tests"] if "required" in t["tags"]} == {"passed"}


def test_the_results_have_exactly_gradescopes_fields(reference):
    results = reference.results
    assert set(results) == TOP_FIELDS
    assert (results["output_format"], results["visibility"], results["stdout_visibility"]) == (
        "md",
        "visible",
        "hidden",
    )
    assert isinstance(results["execution_time"], int) and results["execution_time"] > 0
    for test in results["tests"]:
        assert set(test) == TEST_FIELDS, test["name"]
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert test["output_format"] == "text" and isinstance(test["tags"], list)


def test_every_check_of_the_assignment_is_one_numbered_test(reference):
    tests = reference.results["tests"]
    assert [t["name"] for t in tests] == [c.id for c in ASSIGNMENT.checks]
    assert [t["number"] for t in tests] == [str(n) for n in range(1, len(tests) + 1)]


def test_advisory_checks_are_worth_zero_points(reference):
    advisory = {c.id for c in ASSIGNMENT.checks if not c.required}
    assert advisory, "the assignment has advisory checks to show"
    shown = [t for t in reference.results["tests"] if t["name"] in advisory]
    assert [(t["score"], t["max_score"], "advisory" in t["tags"]) for t in shown] == [(0, 0, True)] * len(advisory)


def test_a_missing_tcp_client_loses_exactly_the_tcp_client_checks(without_tcp_client):
    results = without_tcp_client.results
    assert without_tcp_client.returncode == 0
    assert results["score"] == ASSIGNMENT.max_points - points_of("tcp_client")
    failed = {t["name"] for t in results["tests"] if t["status"] == "failed" and "required" in t["tags"]}
    assert failed == {c.id for c in ASSIGNMENT.checks if c.required and c.id.startswith("tcp_client.")}


def test_the_output_names_what_cost_points_before_anything_else(without_tcp_client):
    output = without_tcp_client.results["output"]
    assert "## What cost points" in output
    assert output.index("What cost points") < output.index("tcp\\_client.") < len(output)


# --- a hostile submission changes nothing ----------------------------------------------------


def _records(graded: Graded) -> list[dict]:
    records = [json.loads(path.read_text()) for path in sorted(graded.drop.glob("server-*.json"))]
    assert records, f"the hostile server never ran:\n{graded.log}"
    return records


@needs_root
def test_a_hostile_submission_still_gets_the_references_score(hostile):
    assert hostile.returncode == 0, hostile.log
    assert hostile.results["score"] == ASSIGNMENT.max_points
    assert "planted" not in hostile.results_text


@needs_root
def test_a_hostile_program_cannot_write_the_results(hostile):
    assert {r["results"] for r in _records(hostile)} == {"PermissionError"}


@needs_root
def test_a_hostile_program_cannot_kill_the_grader(hostile):
    kills = [outcome for record in _records(hostile) for outcome in record["kills"].values()]
    assert len(kills) >= 2, "it found the grader's processes to try (its pytest and run_autograder's Python)"
    assert set(kills) == {"PermissionError"}


@needs_root
def test_a_hostile_program_cannot_read_the_graders_files(hostile):
    assert {r["source"] for r in _records(hostile)} == {"PermissionError"}


@needs_root
def test_a_hostile_programs_daemon_is_gone_when_run_autograder_returns(hostile):
    daemons = [r["daemon"] for r in _records(hostile)]
    alive = [pid for pid in daemons if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert alive == []


@needs_root
def test_nothing_rewrites_the_results_after_run_autograder_returns(hostile):
    time.sleep(1.0)  # the daemon, were it alive, would try every 0.2 s
    assert (hostile.drop.parent / "results" / "results.json").read_text(encoding="utf-8") == hostile.results_text
