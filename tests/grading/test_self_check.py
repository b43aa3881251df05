"""`pytest grader/ --submission DIR`: the student's entry point, run as a student runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

ROOT = Path(__file__).resolve().parents[2]


def self_check(submission: str, sandbox: str, junit: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "grader/",
            "--submission",
            submission,
            "--sandbox",
            sandbox,
            f"--junitxml={junit}",
            "-q",
            "-p",
            "no:randomly",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def reference_docker(tmp_path_factory, docker_ready):
    junit = tmp_path_factory.mktemp("docker") / "junit.xml"
    return self_check("reference", "docker", junit), junit


@pytest.fixture(scope="module")
def reference_local(tmp_path_factory):
    junit = tmp_path_factory.mktemp("local") / "junit.xml"
    return self_check("reference", "local", junit), junit


@pytest.fixture(scope="module")
def python2_docker(tmp_path_factory, docker_ready):
    junit = tmp_path_factory.mktemp("py2") / "junit.xml"
    return self_check("tests/examples/python2_udp_server", "docker", junit), junit


def _suite_properties(junit: Path) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    return {p.name: p.value for p in suite.properties()}


def test_reference_passes_every_check_in_docker(reference_docker):
    proc, _ = reference_docker
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "failed" not in proc.stdout and "xfail" not in proc.stdout


def test_reference_passes_every_check_in_local_mode(reference_local):
    proc, _ = reference_local
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "failed" not in proc.stdout and "xfail" not in proc.stdout


def test_reference_scores_full_marks_in_the_junit_suite_properties(reference_docker):
    properties = _suite_properties(reference_docker[1])
    assert float(properties["score"]) == float(properties["max_score"]) > 0


def test_self_check_junit_passes_the_jenkins_schema(reference_docker, python2_docker, schema):
    for _, junit in (reference_docker, python2_docker):
        schema.validate(str(junit))


def test_every_test_case_carries_its_check_id_and_points(python2_docker):
    _, junit = python2_docker
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert cases
    for case in cases:
        assert "[" in case.name and "." in case.name.split("[", 1)[1]
        assert re.search(r"^socketlab-result: \{.*\"points\": ", case.system_out or "", re.MULTILINE)


def test_required_failures_fail_the_self_check_run(python2_docker):
    proc, _ = python2_docker
    assert proc.returncode == 1
    assert "Python 2" in proc.stdout


def test_a_missing_role_is_reported_as_missing_not_as_a_crash(python2_docker):
    proc, _ = python2_docker
    assert "no tcp_server found in the submission" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_a_broken_assignment_is_a_clear_usage_error(tmp_path):
    spec = tmp_path / "broken.toml"
    spec.write_text(
        'name = "x"\n[[checks]]\nid = "udp_server.basic"\nkind = "udp_exchange"\npoints = 1\n'
        'params = { clients = "two" }\n'
    )
    proc = self_check("reference", "local", tmp_path / "j.xml", "--assignment", str(spec))
    assert proc.returncode == 4
    assert "checks[0].params.clients" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_submission_folder_is_named_with_the_fix(tmp_path):
    proc = self_check(str(tmp_path / "nowhere"), "local", tmp_path / "j.xml")
    assert proc.returncode == 4
    assert "nowhere" in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def python2_local(tmp_path_factory):
    junit = tmp_path_factory.mktemp("py2-local") / "junit.xml"
    return self_check("tests/examples/python2_udp_server", "local", junit)


def test_the_self_check_ends_with_the_score_and_what_cost_points(python2_local):
    tail = python2_local.stdout.rstrip("\n").splitlines()
    at = tail.index(next(line for line in tail if line.startswith("Score: ")))
    assert tail[at] == "Score: 0/25 (0.0 %)"
    assert tail[at + 1] == "What cost points:"
    assert tail[at + 2].startswith("  - this is Python 2 syntax") and "udp_server.basic" in tail[at + 2]


def test_a_cause_shared_by_many_checks_is_listed_once(python2_local):
    summary = python2_local.stdout[python2_local.stdout.index("Score: ") :]
    assert summary.count("this is Python 2 syntax") == 1


def test_each_failure_is_printed_once(python2_local):
    # Its report once; pytest's short summary (-ra) may add its one-line index, whole under CI.
    reports = re.findall(r"^udp_server\.basic: FAILED", python2_local.stdout, re.MULTILINE)
    assert len(reports) == 1
    assert "socketlab-result" not in python2_local.stdout


def test_a_programs_terminal_escapes_reach_the_terminal_escaped(tmp_path):
    student = tmp_path / "escapes"
    student.mkdir()
    (student / "UDPServer.py").write_text(
        "import socket, sys\n"
        "print('\\x1b[2J\\x1b]0;owned\\x07 and a NUL \\x00', flush=True)\n"
        "sys.exit(1)\n"
        "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('', 12000))\n"
    )
    proc = self_check(str(student), "local", tmp_path / "j.xml", "-k", "udp_server.basic")
    assert "\\x1b[2J" in proc.stdout and "\\x00" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x00" not in proc.stdout and "\x07" not in proc.stdout
