"""Grade a class: each submission in its own pytest process, several at once, each result kept as it lands.

A student's JUnit suite is written as soon as that student is done, so an interrupted
run keeps what it graded; the gradebook is then rebuilt from those files.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from docker.errors import DockerException
from junitparser import JUnitXml, TestSuite

from grader import junit
from grader.cache import Cache, cache_key, grader_fingerprint
from grader.discover import DiscoveryError, discover, unpack_zip
from grader.headroom import HeadroomRule, Throttle
from grader.model import Status, StudentReport
from grader.names import shown
from grader.roster import Entry
from grader.runner import ChildRun, exit_message, log_tail, pytest_command, run_child, start_fork_server
from grader.sandbox.choose import choose_sandbox
from grader.sandbox.docker import (
    DEFAULT_IMAGE,
    ENGINE_ERRORS,
    engine_client,
    sweep_leftovers,
)
from grader.scratch import scratch_dir, sweep_scratch
from grader.spec import Assignment

# The child stops itself at the submission's time limit, failing the checks not reached.
# This much later it is stopped from outside, for when the child itself hangs.
KILL_GRACE = 30.0

Runner = Callable[[list[str], Path, float, threading.Event], ChildRun]


DEFAULT_HEADROOM = HeadroomRule()


@dataclass(frozen=True)
class Settings:
    assignment: Assignment
    sandbox: str  # "docker" or "local": `auto` is resolved before grading starts
    seed: int
    jobs: int
    timeout: float | None = None  # seconds for one whole submission; None: the assignment's [timeouts] submission
    environment: str = ""  # what else decides a grade (the runtime image), for the cache key
    force: bool = False
    headroom: HeadroomRule | None = DEFAULT_HEADROOM  # None: start gradings whatever the machine's load

    @property
    def time_limit(self) -> float:
        return self.assignment.timeouts.submission if self.timeout is None else self.timeout


@dataclass(frozen=True)
class Graded:
    report: StudentReport
    cached: bool


@dataclass(frozen=True)
class Outcome:
    graded: list[Graded]
    interrupted: bool
    throttled: str | None = None  # how long gradings waited for the machine to have room, when they did


def default_jobs() -> int:
    # Most of a grading waits on sockets and timeouts, not on the CPU, hence more than one per core.
    return min(4, (os.cpu_count() or 1) * 2)


def resolve_sandbox(requested: str) -> tuple[str, str]:
    """(docker or local, the environment string for the cache key); SandboxError when docker is required but absent."""
    chosen = choose_sandbox(requested)
    return chosen, f"docker {_image_id()}" if chosen == "docker" else "local"


def _image_id() -> str:
    client = engine_client(timeout=10)
    try:
        return client.images.get(DEFAULT_IMAGE).id
    finally:
        client.close()


def sweep_leftovers_of_dead_graders() -> int:
    """Remove what graders that died left (a killed child, an earlier crash): containers, networks, scratch folders."""
    return sweep_scratch() + _sweep_docker()


def _sweep_docker() -> int:
    try:
        client = engine_client()
    except DockerException:
        return 0
    try:
        return sweep_leftovers(client)
    except ENGINE_ERRORS:
        return 0  # an engine too busy to answer: the next run's sweep removes what is left
    finally:
        client.close()


def grade(
    entries: Iterable[Entry],
    settings: Settings,
    out: Path,
    on_done: Callable[[Graded], None],
    runner: Runner = run_child,
) -> Outcome:
    """Grade `entries` into `out/junit/`; Ctrl-C stops the running children and keeps what is done."""
    grading = _ClassRun(settings, out, runner)
    if runner is run_child:
        start_fork_server()  # here, before the gradings' threads: it changes folder for a moment
    with ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="grade") as pool:
        futures = [pool.submit(grading.one, entry) for entry in entries]
        interrupted = False
        try:
            for future in as_completed(futures):
                graded = future.result()
                if graded is not None:
                    on_done(graded)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            # On Ctrl-C (or a bug) no new grading starts and running children are stopped;
            # leaving the `with` then waits for them to remove their containers.
            if any(not f.done() for f in futures):
                grading.cancel.set()
                for future in futures:
                    future.cancel()
    return Outcome(
        [g for g in map(_result, futures) if g is not None],
        interrupted,
        grading.throttle.describe() if grading.throttle is not None else None,
    )


def _result(future: Future) -> Graded | None:
    return None if future.cancelled() or future.exception() is not None else future.result()


class _ClassRun:
    def __init__(self, settings: Settings, out: Path, runner: Runner):
        self.settings = settings
        self.junit_dir = out / "junit"
        self.cache = Cache(out / "cache")
        self.runner = runner
        self.fingerprint = grader_fingerprint()
        self.cancel = threading.Event()
        self.throttle = Throttle(settings.headroom, settings.jobs) if settings.headroom is not None else None
        self.junit_dir.mkdir(parents=True, exist_ok=True)

    def one(self, entry: Entry) -> Graded | None:
        """None when grading was interrupted before this student was done.

        Whatever one submission holds, it ends as a report: a failure of the grader on it
        (a name it cannot encode, a file it cannot read) is that student's grader error,
        never the end of the class run.
        """
        try:
            return self._one(entry)
        except Exception as exc:
            target = self.junit_dir / f"{entry.name}.xml"
            self.cache.forget(entry.name)
            suite = junit.error_suite(
                entry.name,
                f"the grader failed on this submission "
                f"({exc.__class__.__name__}: {exc}); the other students are "
                "graded as usual",
                self._properties(entry),
            )
            try:
                junit.write_suite(suite, target)
            except Exception:
                pass
            return Graded(junit.report(suite), cached=False)

    def _one(self, entry: Entry) -> Graded | None:
        if self.cancel.is_set():
            return None
        s = self.settings
        target = self.junit_dir / f"{entry.name}.xml"
        if entry.path.is_symlink():
            return self._refuse_link(entry, target)
        try:
            key: str | None = cache_key(
                entry.path, s.assignment, s.seed, f"{s.environment} limit {s.time_limit:g}", self.fingerprint
            )
        except OSError:
            key = None  # an unreadable file: grade it (the grading will say what is wrong), never cache it
        if key is not None and not s.force and self.cache.hit(entry.name, key):
            cached = _read(target)
            if cached is not None:
                return Graded(junit.report(cached), cached=True)
        # Whatever happens next, no stale report may pass for this run's.
        self.cache.forget(entry.name)
        target.unlink(missing_ok=True)
        with scratch_dir(entry.name[:20]) as scratch:
            suite = self._run(entry, Path(scratch))
        if suite is None:
            return None
        junit.write_suite(suite, target)
        report = junit.report(suite)
        # A grader error or a check the sandbox could not run may be the machine's fault: try again next time.
        if key is not None and report.grader_error is None and all(c.status is not Status.ERROR for c in report.checks):
            self.cache.store(entry.name, key)
        return Graded(report, cached=False)

    def _refuse_link(self, entry: Entry, target: Path) -> Graded:
        """A submission that is a symlink could be any folder of this machine: listed, never read."""
        self.cache.forget(entry.name)
        suite = junit.error_suite(
            entry.name,
            f"{entry.path.name} is a symbolic link, and the grader never follows links in a submission; "
            "put the student's folder (or .zip) itself in the submissions folder",
            self._properties(entry),
        )
        junit.write_suite(suite, target)
        return Graded(junit.report(suite), cached=False)

    def _properties(self, entry: Entry) -> dict[str, str]:
        s = self.settings
        return {
            "submission": shown(entry.path.name),
            "assignment": s.assignment.name,
            "seed": str(s.seed),
            "sandbox": s.sandbox,
            "max_score": f"{s.assignment.max_points:g}",
            "checks": " ".join(c.id for c in s.assignment.checks),
            **entry.properties(),
        }

    def _student_error(self, entry: Entry, problem: str) -> TestSuite:
        """A submission that cannot be graded as handed in: the student's zero with the reason, cached like a grade."""
        return junit.submission_error_suite(
            entry.name, problem, self._properties(entry), self.settings.assignment.checks
        )

    def _run(self, entry: Entry, scratch: Path) -> TestSuite | None:
        s = self.settings
        properties = self._properties(entry)
        try:
            folder = unpack_zip(entry.path, scratch / "submission") if entry.is_zip else entry.path
            # Here, not in the child: a bad grader.toml is then the student's error, with its message.
            discover(folder)
        except DiscoveryError as exc:
            return self._student_error(entry, str(exc))
        raw, log = scratch / "junit.xml", scratch / "pytest.log"
        command = pytest_command(
            folder.resolve(), raw, entry.name, s.assignment.source.resolve(), s.sandbox, s.seed, s.time_limit
        )
        with self.throttle.slot(self.cancel) if self.throttle is not None else contextlib.nullcontext():
            run = self.runner(command, log, s.time_limit + KILL_GRACE, self.cancel)
        if run.cancelled:
            return None
        output = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        if run.timed_out:
            problem = f"grading took longer than {s.time_limit + KILL_GRACE:g} s and was stopped"
            partial = _partial(raw, entry.name, [c.id for c in s.assignment.checks], problem)
            if partial is not None:
                return junit.with_properties(partial, entry.properties())
            return junit.error_suite(entry.name, problem, properties, log_tail(output))
        if run.returncode in (0, 1):  # pytest: all checks passed / some failed
            try:
                return junit.with_properties(
                    junit.normalize(JUnitXml.fromfile(str(raw)), entry.name), entry.properties()
                )
            except (OSError, ParseError, junit.JUnitError) as exc:
                problem = f"pytest wrote no readable JUnit report ({exc})"
        else:
            reason = exit_message(output)
            problem = f"pytest exited with status {run.returncode}" + (f": {reason}" if reason else "")
        return junit.error_suite(entry.name, problem, properties, log_tail(output))


def _partial(raw: Path, student: str, check_ids: list[str], problem: str) -> TestSuite | None:
    """What a stopped child had graded (pytest writes its report on SIGINT), the rest as errors."""
    try:
        suite = junit.normalize(JUnitXml.fromfile(str(raw)), student)
    except (OSError, ParseError, junit.JUnitError):
        return None
    graded = {case.name for case in suite}
    if not graded:
        return None
    for check_id in check_ids:
        if check_id not in graded:
            suite.add_testcase(junit.error_case(student, check_id, f"not run: {problem}"))
    suite.update_statistics()
    return suite


def _read(path: Path) -> TestSuite | None:
    try:
        suites = junit.read_suites(path)
    except (OSError, ParseError):
        return None
    return suites[0] if len(suites) == 1 else None


def collect(out: Path, students: Iterable[str]) -> list[TestSuite]:
    """The suites of `students` found in `out/junit/` (a student never graded has none)."""
    return [suite for name in students if (suite := _read(out / "junit" / f"{name}.xml")) is not None]
