"""The pool around the per-student runs, with a stub in place of pytest: caching, errors, zips, Ctrl-C."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest
from pipeline_samples import FULL_MARKS, junit_text

from grader import junit, pipeline
from grader.headroom import HeadroomRule
from grader.model import Status
from grader.roster import Entry, find_submissions
from grader.runner import ChildRun
from grader.spec import load_assignment

SPEC = 'name = "mini"\nseed = 7\n[[checks]]\nid = "udp_server.basic"\nkind = "udp_exchange"\npoints = 4\n'


def _option(argv: list[str], name: str) -> str:
    """The value of `--name=value` in the child's command line."""
    return next(arg.split("=", 1)[1] for arg in argv if arg.startswith(f"{name}="))


class StubRunner:
    """Stands in for run_child: writes what pytest would have written, or breaks as told."""

    def __init__(
        self, cases=FULL_MARKS, returncode: int = 1, write: bool = True, log: str = "", result: ChildRun | None = None
    ):
        self.cases, self.returncode, self.write, self.log, self.result = cases, returncode, write, log, result
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, argv: list[str], log: Path, timeout: float, cancel: threading.Event) -> ChildRun:
        args = {
            "junit": next(a.split("=", 1)[1] for a in argv if a.startswith("--junitxml=")),
            "student": next(a.split("=", 1)[1] for a in argv if a.startswith("junit_suite_name=")),
            "submission": _option(argv, "--submission"),
            "seed": _option(argv, "--seed"),
        }
        with self.lock:
            self.calls.append(args)
        log.write_text(self.log)
        if self.write:
            Path(args["junit"]).write_text(junit_text(args["student"], self.cases))
        return self.result or ChildRun(self.returncode)


@pytest.fixture
def submissions(tmp_path) -> list[Entry]:
    root = tmp_path / "submissions"
    for name in ("alice", "bob"):
        (root / name).mkdir(parents=True)
        (root / name / "UDPServer.py").write_text(f"# {name}\n")
    return find_submissions(root)


@pytest.fixture
def settings(tmp_path) -> pipeline.Settings:
    spec = tmp_path / "mini.toml"
    spec.write_text(SPEC)
    # Stand-in runners load nothing: the machine's pressure, whatever it is, must not hold them back.
    return pipeline.Settings(
        load_assignment(str(spec)), "docker", 7, jobs=2, timeout=60, environment="test", headroom=None
    )


def _grade(entries, settings, out, runner, on_done=lambda graded: None) -> pipeline.Outcome:
    return pipeline.grade(entries, settings, out, on_done, runner=runner)


def test_each_student_gets_a_normalised_junit_file(submissions, settings, tmp_path):
    stub = StubRunner()
    outcome = _grade(submissions, settings, tmp_path / "out", stub)
    assert not outcome.interrupted
    assert sorted(g.report.student for g in outcome.graded) == ["alice", "bob"]
    assert {c["seed"] for c in stub.calls} == {"7"}
    for name in ("alice", "bob"):
        [suite] = junit.read_suites(tmp_path / "out" / "junit" / f"{name}.xml")
        assert suite.name == name and {c.classname for c in suite} == {name}


def test_an_unchanged_submission_is_not_graded_again(submissions, settings, tmp_path):
    _grade(submissions, settings, tmp_path / "out", StubRunner())
    again = StubRunner()
    seen = []
    outcome = _grade(submissions, settings, tmp_path / "out", again, seen.append)
    assert again.calls == []
    assert all(g.cached for g in outcome.graded) and len(seen) == 2
    assert seen[0].report.score == 4.0


def test_a_changed_submission_seed_or_force_is_graded_again(submissions, settings, tmp_path):
    out = tmp_path / "out"
    _grade(submissions, settings, out, StubRunner())
    (submissions[0].path / "UDPServer.py").write_text("# changed\n")
    changed = StubRunner()
    _grade(submissions, settings, out, changed)
    assert [c["student"] for c in changed.calls] == ["alice"]
    reseeded = StubRunner()
    _grade(submissions, pipeline.Settings(**{**settings.__dict__, "seed": 8}), out, reseeded)
    assert sorted(c["student"] for c in reseeded.calls) == ["alice", "bob"]
    forced = StubRunner()
    _grade(submissions, pipeline.Settings(**{**settings.__dict__, "seed": 8, "force": True}), out, forced)
    assert len(forced.calls) == 2


def test_a_broken_pytest_run_is_a_grader_error_for_that_student_only(submissions, settings, tmp_path):
    stub = StubRunner(returncode=3, write=False, log="INTERNALERROR> something broke\n")
    outcome = _grade(submissions[:1], settings, tmp_path / "out", stub)
    report = outcome.graded[0].report
    assert report.grader_error == "pytest exited with status 3"
    assert (report.score, report.max_score) == (0.0, 4.0)
    [suite] = junit.read_suites(tmp_path / "out" / "junit" / "alice.xml")
    assert "INTERNALERROR> something broke" in next(iter(suite)).result[0].text
    retry = StubRunner()
    _grade(submissions[:1], settings, tmp_path / "out", retry)
    assert len(retry.calls) == 1  # an error is never cached


def test_the_reason_a_child_gave_is_in_the_grader_error(submissions, settings, tmp_path):
    stub = StubRunner(
        returncode=4,
        write=False,
        log="! _pytest.outcomes.Exit: grader.toml: roles: must be a table; write [roles.udp_server] !\n",
    )
    report = _grade(submissions[:1], settings, tmp_path / "out", stub).graded[0].report
    assert (
        report.grader_error == "pytest exited with status 4: grader.toml: roles: must be a table; write "
        "[roles.udp_server]"
    )


def test_a_run_without_a_junit_report_is_a_grader_error(submissions, settings, tmp_path):
    report = _grade(submissions[:1], settings, tmp_path / "out", StubRunner(returncode=0, write=False)).graded[0].report
    assert report.grader_error.startswith("pytest wrote no readable JUnit report")


def test_the_child_gets_the_time_limit_and_is_stopped_from_outside_only_after_a_grace(submissions, settings, tmp_path):
    seen = []

    class Peek(StubRunner):
        def __call__(self, argv, log, timeout, cancel):
            seen.append((_option(argv, "--time-limit"), timeout))
            return super().__call__(argv, log, timeout, cancel)

    _grade(submissions[:1], settings, tmp_path / "out", Peek())
    assert seen == [("60", 60 + pipeline.KILL_GRACE)]


def test_a_child_stopped_from_outside_without_a_report_is_a_grader_error(submissions, settings, tmp_path):
    stub = StubRunner(write=False, result=ChildRun(None, timed_out=True))
    report = _grade(submissions[:1], settings, tmp_path / "out", stub).graded[0].report
    assert report.grader_error == f"grading took longer than {60 + pipeline.KILL_GRACE:g} s and was stopped"


def test_a_child_stopped_from_outside_keeps_what_it_graded_and_the_rest_are_errors(submissions, tmp_path):
    spec = tmp_path / "two.toml"
    spec.write_text(SPEC + SPEC[SPEC.index("[[checks]]") :].replace("udp_server.basic", "udp_server.lossy"))
    two = pipeline.Settings(
        load_assignment(str(spec)), "docker", 7, jobs=1, timeout=60, environment="test", headroom=None
    )
    graded_first = [("udp_server.basic", Status.PASSED, 4, 4, True, "every request got its reply", None)]
    stub = StubRunner(graded_first, result=ChildRun(None, timed_out=True))
    report = _grade(submissions[:1], two, tmp_path / "out", stub).graded[0].report
    assert report.grader_error is None
    assert [(c.check_id, c.status) for c in report.checks] == [
        ("udp_server.basic", "passed"),
        ("udp_server.lossy", "error"),
    ]
    assert report.score == 4
    assert "not run: grading took longer than" in report.checks[1].summary


def test_a_check_the_sandbox_could_not_run_is_not_cached(submissions, settings, tmp_path):
    cases = [("udp_server.basic", Status.ERROR, 0, 4, True, "the grader could not run this check: Docker", None)]
    _grade(submissions[:1], settings, tmp_path / "out", StubRunner(cases))
    retry = StubRunner()
    _grade(submissions[:1], settings, tmp_path / "out", retry)
    assert len(retry.calls) == 1


def test_a_zip_is_unpacked_for_its_grading(tmp_path, settings):
    root = tmp_path / "submissions"
    root.mkdir()
    with zipfile.ZipFile(root / "carla.zip", "w") as archive:
        archive.writestr("carla_lab2/UDPServer.py", "# carla\n")
    seen = []

    class Peek(StubRunner):
        def __call__(self, argv, log, timeout, cancel):
            folder = Path(_option(argv, "--submission"))
            seen.append((folder.name, (folder / "UDPServer.py").read_text()))
            return super().__call__(argv, log, timeout, cancel)

    outcome = _grade(find_submissions(root), settings, tmp_path / "out", Peek())
    assert seen == [("carla_lab2", "# carla\n")]
    assert outcome.graded[0].report.student == "carla"


def test_a_broken_zip_is_the_students_error_without_a_run_and_is_not_graded_again(tmp_path, settings):
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "dan.zip").write_bytes(b"not a zip")
    stub = StubRunner()
    first = _grade(find_submissions(root), settings, tmp_path / "out", stub).graded[0]
    again = _grade(find_submissions(root), settings, tmp_path / "out", stub).graded[0]
    assert stub.calls == []
    assert first.report.grader_error is None and first.report.score == 0
    assert "dan.zip: cannot unpack" in first.report.properties["submission_error"]
    assert str(tmp_path) not in first.report.properties["submission_error"]
    assert again.cached


def test_submissions_are_graded_in_parallel(submissions, settings, tmp_path):
    both_running = threading.Barrier(2, timeout=10)

    class Together(StubRunner):
        def __call__(self, argv, log, timeout, cancel):
            both_running.wait()  # breaks (and fails the run) unless two gradings overlap
            return super().__call__(argv, log, timeout, cancel)

    outcome = _grade(submissions, settings, tmp_path / "out", Together())
    assert len(outcome.graded) == 2 and all(g.report.grader_error is None for g in outcome.graded)


def test_on_a_machine_without_headroom_the_second_grading_waits_and_the_run_says_so(submissions, settings, tmp_path):
    never_room = HeadroomRule(cpu_limit=-1, io_limit=-1, load_limit=-1, max_wait=0.5)

    class Lingering(StubRunner):
        def __call__(self, argv, log, timeout, cancel):
            time.sleep(1.0)  # still running when the other grading asks for room
            return super().__call__(argv, log, timeout, cancel)

    outcome = _grade(submissions, dataclasses.replace(settings, headroom=never_room), tmp_path / "out", Lingering())
    assert len(outcome.graded) == 2
    assert outcome.throttled is not None and "1 grading(s) waited" in outcome.throttled


def test_with_headroom_no_grading_waits_and_the_run_says_nothing_about_it(submissions, settings, tmp_path):
    always_room = HeadroomRule(cpu_limit=1000, io_limit=1000, load_limit=1000)
    outcome = _grade(submissions, dataclasses.replace(settings, headroom=always_room), tmp_path / "out", StubRunner())
    assert len(outcome.graded) == 2 and outcome.throttled is None


def test_ctrl_c_stops_running_gradings_and_keeps_finished_ones(tmp_path, settings):
    root = tmp_path / "submissions"
    for name in ("alice", "bob", "carla"):
        (root / name).mkdir(parents=True)
    first_done = threading.Event()

    class Slow(StubRunner):
        def __call__(self, argv, log, timeout, cancel):
            if "junit_suite_name=alice" in argv:
                return super().__call__(argv, log, timeout, cancel)
            first_done.wait(10)
            cancel.wait(10)  # as run_child does: stop the child once cancelled
            return ChildRun(None, cancelled=True)

    def interrupt(graded):
        first_done.set()
        raise KeyboardInterrupt

    outcome = _grade(find_submissions(root), settings, tmp_path / "out", Slow(), interrupt)
    assert outcome.interrupted
    assert [g.report.student for g in outcome.graded] == ["alice"]
    assert sorted(p.name for p in (tmp_path / "out" / "junit").iterdir()) == ["alice.xml"]


def test_the_gradebook_covers_the_students_in_scope_that_have_a_report(submissions, settings, tmp_path):
    out = tmp_path / "out"
    _grade(submissions, settings, out, StubRunner())
    shutil.copy(out / "junit" / "alice.xml", out / "junit" / "gone.xml")  # a student removed since
    assert [s.name for s in pipeline.collect(out, ["alice", "bob", "never_graded"])] == ["alice", "bob"]


def test_a_submission_the_grader_fails_on_is_that_students_error_and_the_others_are_graded(
    submissions, settings, tmp_path, monkeypatch
):
    real_key = pipeline.cache_key

    def key(path, *args):
        if path.name == "alice":
            raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
        return real_key(path, *args)

    monkeypatch.setattr(pipeline, "cache_key", key)
    outcome = _grade(submissions, settings, tmp_path / "out", StubRunner())
    reports = {g.report.student: g.report for g in outcome.graded}
    assert "grader failed on this submission" in (reports["alice"].grader_error or "")
    assert reports["bob"].grader_error is None and reports["bob"].score > 0


def test_a_docker_engine_too_busy_to_answer_the_sweep_does_not_end_the_run(monkeypatch):
    from requests.exceptions import ReadTimeout

    class SlowClient:
        def close(self) -> None:
            pass

    def too_slow(client, everything=False):
        raise ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out. (read timeout=30)")

    monkeypatch.setattr(pipeline, "engine_client", lambda timeout=30: SlowClient())
    monkeypatch.setattr(pipeline, "sweep_leftovers", too_slow)
    monkeypatch.setattr(pipeline, "sweep_scratch", lambda: 0)
    assert pipeline.sweep_leftovers_of_dead_graders() == 0
