"""`grader grade | merge`: exit status and one-line errors when the grader cannot do its job; merging shards."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from pipeline_samples import SAMPLE, run_grader, suite_of

from grader import cli, junit


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == cli.EXIT_CANNOT_RUN, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grader: error: "), proc.stderr
    return lines[0]


def test_a_broken_spec_stops_the_grader_with_one_line(tmp_path):
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    spec = tmp_path / "broken.toml"
    spec.write_text(
        'name = "x"\n[[checks]]\nid = "udp_server.basic"\nkind = "udp_exchange"\npoints = 1\n'
        'params = { clients = "two" }\n'
    )
    line = _one_line_error(run_grader("grade", "submissions", "--assignment", str(spec), cwd=tmp_path))
    assert "checks[0].params.clients" in line and "Fix:" in line
    assert not (tmp_path / "reports").exists()


def test_a_missing_submissions_folder_stops_the_grader_with_one_line(tmp_path):
    line = _one_line_error(run_grader("grade", "nowhere", "--out", "reports", cwd=tmp_path))
    assert "nowhere: no such folder" in line


def test_a_bad_shard_stops_the_grader_with_one_line(tmp_path):
    (tmp_path / "submissions").mkdir()
    assert "write I/N" in _one_line_error(run_grader("grade", "--shard", "3/2", cwd=tmp_path))


def test_docker_required_but_missing_stops_the_grader_with_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    problem = "Docker engine not reachable. Fix: start it"
    monkeypatch.setattr("grader.sandbox.choose.docker_problem", lambda image=None: problem)
    status = cli.main(["grade", str(tmp_path / "submissions"), "--sandbox", "docker", "--out", str(tmp_path / "r")])
    assert status == cli.EXIT_CANNOT_RUN
    assert capsys.readouterr().err == "grader: error: Docker engine not reachable. Fix: start it\n"


def _shard(folder: Path, *suites) -> Path:
    for suite in suites:
        junit.write_suite(suite, folder / "junit" / f"{suite.name}.xml")
    return folder


def test_merge_joins_the_shards_into_one_gradebook(tmp_path, make_suite, schema, capsys):
    one = _shard(tmp_path / "shard1", make_suite("bob"), suite_of(SAMPLE, "erin"))
    two = _shard(tmp_path / "shard2", make_suite("alice"))
    out = tmp_path / "merged"
    assert cli.main(["merge", str(one), str(two), "--out", str(out)]) == 0
    schema.validate(str(out / "gradebook.xml"))
    rows = list(csv.reader((out / "gradebook.csv").open()))
    assert [(r[0], r[1]) for r in rows[1:]] == [("alice", "4"), ("bob", "4"), ("erin", "1")]
    for student in ("alice", "bob", "erin"):
        assert (out / "junit" / f"{student}.xml").is_file()
        assert (out / "feedback" / f"{student}.md").is_file()
        assert (out / "results" / f"{student}.json").is_file()
    assert "3 student(s)" in capsys.readouterr().out


def test_merge_refuses_a_student_in_two_shards(tmp_path, make_suite, capsys):
    one = _shard(tmp_path / "shard1", make_suite("bob"))
    two = _shard(tmp_path / "shard2", make_suite("bob"))
    assert cli.main(["merge", str(one), str(two), "--out", str(tmp_path / "m")]) == cli.EXIT_CANNOT_RUN
    assert "student 'bob' is in both" in capsys.readouterr().err


@pytest.mark.parametrize("make_input", [lambda p: p / "nowhere", lambda p: (p / "bad" / "x.xml").parent])
def test_merge_refuses_a_missing_folder_or_a_broken_file(tmp_path, make_input, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.xml").write_text("<testsuites><oops")
    assert cli.main(["merge", str(make_input(tmp_path)), "--out", str(tmp_path / "m")]) == cli.EXIT_CANNOT_RUN
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "only", "force"),
    [
        (["grade", "--only", "-x"], ["-x"], False),
        (["grade", "--only", "-x", "bob", "--force"], ["-x", "bob"], True),
        (["grade", "--only=-x", "--only", "@y"], ["-x", "@y"], False),
    ],
)
def test_only_takes_student_names_that_start_with_a_dash(argv, only, force):
    parser = cli._parser()
    args = parser.parse_args(cli._glue_student_names(argv, parser))
    assert (args.only, args.force) == (only, force)
