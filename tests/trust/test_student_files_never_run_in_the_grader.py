"""No file of a submission ever runs, or is read as configuration, in the grader's own processes.

DESIGN.md, "Trust boundary": the CLI, the pytest children and the pytest plugin never import,
execute or read as configuration any file of a submission. Issue 11 was the hole: with
`pytest grader/ --submission DIR` pytest did not know `--submission` yet when it looked for
the first conftests, so DIR was taken for a test path and its `conftest.py` (or that of its
tests/ or testing/) was imported on the host; and where the grader is a regular install,
pytest's search for an ini file fell back to the argument folders, so a student's
`pytest.ini` (`addopts = -p evil`, `pythonpath = .`) became the grading's configuration.

A class of hostile students (tests/trust/hostile_student_files.py: one student per kind of
file, each file leaving a marker wherever it runs and forging full marks where it can) is
graded along each route a TA or the CI uses, through public commands only:

- from this checkout (the virtualenv running this test, cwd the repository root):
  `grader grade CLASS --sandbox docker --jobs 4`, `pytest grader/ --submission DIR` and
  `pytest grader/ --submission=DIR`;
- from a regular (non-editable) install in a fresh virtualenv, typed outside the
  repository: `grader grade` and `python -m pytest <site-packages>/grader --submission DIR`;
- `grader grade --sandbox local` from the checkout.

Each route grades two control students beside the hostile ones, in the same run: one with
no file at all and one with the four textbook programs. No marker may appear. A hostile
student may earn no more than its control (no more points, no check passed that its control
fails): nothing for the ones that hold no program. The one that holds the textbook programs
and every hostile file at once must earn exactly the textbook's score. The textbook's programs
run in real containers and may fail a check by bad luck on a loaded machine, so a textbook
pair that disagrees is graded again (at most REGRADES times, each printed) before it counts:
a forged score does not go away when graded again.

Why any marker counts: in Docker, student programs run in containers, which get none of the
host's environment and a private /tmp, so a marker on the host (in $SOCKETLAB_TRUST_MARKERS
or in the fixed fallback folder) was written by a process on the host: the grader's. In
local mode student programs do run on the host, by design, and a student's own socket.py is
rightly imported by its own UDPServer.py there; telling such a process from a grader one by
its argv would be a judgement call. So the local route grades only the students that hold no
program at all (conftest, ini files, start-up hooks): nothing of theirs has any business
running, and every marker is a grader process. Module-named files and the textbook student
are graded in Docker only; local mode changes where student programs run, not how pytest is
started or configured.

Run: `.venv/bin/python -m pytest tests/trust/test_student_files_never_run_in_the_grader.py`
(four to eight minutes on two cores, depending on what else runs: most of it is one pytest
process per student per hand-typed route; each route prints its figures).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_student_files import FALLBACK_MARKERS, MARKER_ENV, Case, cases, write_class

ROOT = Path(__file__).resolve().parents[2]
TEXTBOOK = ROOT / "tests" / "examples" / "textbook_complete"
JOBS = 4  # students at once, as `grader grade --jobs 4`; hand-typed runs go four at a time too
ROUTE_TIMEOUT = 900.0  # seconds for one route over the whole class (one `grader grade`, or all hand-typed runs)
PYTEST_TIMEOUT = 420.0  # seconds for one hand-typed run: the assignment's 300 s submission limit and then some
INSTALL_TIMEOUT = 900.0
REGRADES = 2  # more gradings of a student whose real programs may have failed a check by bad luck
# What a TA's shell would not have, and what would change how Python or pytest starts.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONNOUSERSITE", "PYTHONHOME", "VIRTUAL_ENV")

_RESULT_LINE = re.compile(r"^socketlab-result: (.*)$", re.MULTILINE)
_CHECK_ID = re.compile(r"^test_check\[(.*)\]$")


# --- what is graded, and how -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One way of starting the grader on the class."""

    id: str
    install: str  # "checkout" or "regular"
    command: str  # "grade", or typed by hand: "two-word" (--submission DIR) or "glued" (--submission=DIR)
    sandbox: str  # "docker" or "local"
    kinds: frozenset[str]  # the kinds of hostile student it grades

    @property
    def hand_typed(self) -> bool:
        return self.command != "grade"


EVERY_KIND = frozenset({"conftest", "config", "startup", "shadow", "everything"})
NO_PROGRAM_KINDS = frozenset({"conftest", "config", "startup"})
ROUTES = (
    Route("grader grade --sandbox docker, from the checkout", "checkout", "grade", "docker", EVERY_KIND),
    Route("pytest grader/ --submission DIR, from the checkout", "checkout", "two-word", "docker", EVERY_KIND),
    Route("pytest grader/ --submission=DIR, from the checkout", "checkout", "glued", "docker", EVERY_KIND),
    Route("grader grade --sandbox docker, pip-installed", "regular", "grade", "docker", EVERY_KIND),
    Route(
        "python -m pytest site-packages/grader --submission DIR, pip-installed",
        "regular",
        "two-word",
        "docker",
        EVERY_KIND,
    ),
    Route("grader grade --sandbox local, from the checkout", "checkout", "grade", "local", NO_PROGRAM_KINDS),
)
CASES = cases(token="")  # names and sentences only; each route run writes its own files, with its own token


def _grades(route: Route, case: Case) -> bool:
    # A hand-typed pytest takes a folder; the CLI is what unpacks a .zip.
    return case.kind in route.kinds and not (case.zipped and route.hand_typed)


# The first test of a route grades the whole class (and may build the regular install first).
_ONE_ROUTE = pytest.mark.timeout(INSTALL_TIMEOUT + ROUTE_TIMEOUT + 60)
PAIRS = [
    pytest.param(
        route,
        case,
        id=f"{route.id} - {case.sentence}",
        marks=[_ONE_ROUTE, *([pytest.mark.docker] if route.sandbox == "docker" else [])],
    )
    for route in ROUTES
    for case in CASES
    if _grades(route, case)
]


@dataclass(frozen=True)
class Install:
    """A grader to start: its virtualenv's bin/, the package folder as typed, and where it is typed from."""

    name: str
    bin: Path
    typed_package: str
    cwd: Path
    pytest: tuple[str, ...]  # how pytest is started there

    def environment(self, markers: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k not in _DROPPED_ENV}
        # As an activated virtualenv: its bin/ first on PATH.
        env.update(VIRTUAL_ENV=str(self.bin.parent), PATH=f"{self.bin}{os.pathsep}{env.get('PATH', os.defpath)}")
        env[MARKER_ENV] = str(markers)
        return env


@dataclass(frozen=True)
class Outcome:
    """What one student got along one route."""

    earned: float  # the higher of the suite's score property and the points of its result lines
    passed: frozenset[str]  # the checks that passed
    detail: str  # for failure messages: where it came from, how the run ended
    graded: bool = True  # a report with at least one check in it


@dataclass
class RouteRun:
    route: Route
    outcomes: dict[str, Outcome]
    markers: list[dict]
    seconds: float
    regrade: Callable[[str], Outcome]  # one student graded again, alone, along the same route

    def markers_of(self, student: str) -> list[dict]:
        return [m for m in self.markers if m.get("case") == student]

    def best_of(self, student: str, first: Outcome, wanted: Callable[[Outcome], bool]) -> Outcome:
        """`first`, or the best of it and up to REGRADES more gradings until `wanted` holds.

        Real programs in real containers fail a check now and then under load; a forged score
        does not go away when graded again, a one-off failure does. Every extra grading is printed.
        """
        best = first
        for _ in range(REGRADES):
            if wanted(best):
                break
            again = self.regrade(student)
            best = Outcome(
                max(best.earned, again.earned),
                best.passed | again.passed,
                f"{best.detail}; graded again: {again.detail}",
                best.graded or again.graded,
            )
        return best


# --- reading what the grader wrote --------------------------------------------------------


def _outcome(junit: Path, how: str) -> Outcome:
    """The JUnit file of one student, as the grader's README describes it; an absent one earns nothing."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as exc:
        return Outcome(0.0, frozenset(), f"no readable JUnit report ({exc.__class__.__name__}); {how}", graded=False)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    score = 0.0
    for suite in suites:
        for prop in suite.iter("property"):
            if prop.get("name") == "score":
                try:
                    score = max(score, float(prop.get("value") or 0))
                except ValueError:
                    pass
    points = 0.0
    passed = set()
    checks = list(root.iter("testcase"))
    for case in checks:
        name = case.get("name") or ""
        check = _CHECK_ID.match(name)
        check_id = check.group(1) if check else name
        out = "".join(e.text or "" for e in case.iter("system-out"))
        points += sum(_points_of(line) for line in _RESULT_LINE.findall(out))
        if not any(case.find(tag) is not None for tag in ("failure", "error", "skipped")):
            passed.add(check_id)
    return Outcome(
        max(score, points),
        frozenset(passed),
        f"score property {score:g}, result lines {points:g}, {len(passed)} of {len(checks)} passed; {how}",
        graded=bool(checks),
    )


def _points_of(line: str) -> float:
    """Any line that reads as a result counts, wherever it came from: a forged one would show."""
    try:
        points = json.loads(line).get("points", 0)
    except (ValueError, AttributeError):
        return 0.0
    return float(points) if isinstance(points, int | float) else 0.0


def _markers(folders: list[Path], token: str) -> list[dict]:
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                marker = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if marker.get("token") == token:
                marker["marker_file"] = str(path)
                found.append(marker)
    return found


def _describe(marker: dict) -> str:
    return (
        f"  {marker.get('file')} ran in pid {marker.get('pid')} (parent {marker.get('ppid')}, uid "
        f"{marker.get('uid')}), argv {marker.get('argv')}, cwd {marker.get('cwd')}, pytest loaded: "
        f"{marker.get('pytest_loaded')}, forged: {marker.get('forged')}"
        + (f", {marker['shadowing']}" if marker.get("shadowing") else "")
        + f" [{marker.get('marker_file')}]"
    )


def _tail(text: str, lines: int = 8) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


# --- running a route ----------------------------------------------------------------------


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, out + f"\n(stopped after {timeout:g} s)"
    return done.returncode, done.stdout


def _typed(route: Route, install: Install, folder: Path, junit: Path) -> list[str]:
    submission = {"two-word": ["--submission", str(folder)], "glued": [f"--submission={folder}"]}[route.command]
    # -p no:cacheprovider: no .pytest_cache written into the checkout other engineers share.
    return [
        *install.pytest,
        install.typed_package,
        *submission,
        "--sandbox",
        route.sandbox,
        f"--junitxml={junit}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]


def _grade_class(
    route: Route,
    install: Install,
    students: list[str],
    class_dir: Path,
    work: Path,
    env: dict[str, str],
    only: str | None = None,
) -> dict[str, Outcome]:
    out = work / "reports"
    argv = [
        str(install.bin / "grader"),
        "grade",
        str(class_dir),
        "--out",
        str(out),
        "--sandbox",
        route.sandbox,
        "--jobs",
        str(JOBS),
        *(["--only", only, "--force"] if only else []),
    ]
    code, log = _run(argv, install.cwd, env, ROUTE_TIMEOUT)

    def how(name: str) -> str:
        said = [line for line in log.splitlines() if line.startswith(f"{name}: ")]
        return f"grader grade exited {code}, said {said[-1] if said else 'nothing about it'!r}"

    return {name: _outcome(out / "junit" / f"{name}.xml", how(name)) for name in students}


def _grade_each(
    route: Route, install: Install, students: list[str], class_dir: Path, work: Path, env: dict[str, str]
) -> dict[str, Outcome]:
    deadline = time.monotonic() + ROUTE_TIMEOUT

    def one(name: str) -> Outcome:
        junit = work / f"{name}.xml"
        left = min(PYTEST_TIMEOUT, deadline - time.monotonic())
        if left <= 0:
            return _outcome(junit, f"not run: the route's {ROUTE_TIMEOUT:g} s were spent")
        code, log = _run(_typed(route, install, class_dir / name, junit), install.cwd, env, left)
        return _outcome(junit, f"pytest exited {code}: {_tail(log, 3)}")

    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(JOBS) as pool:
        return dict(zip(students, pool.map(one, students), strict=True))


class RouteRuns:
    """Each route graded once, on first use, on a class written for it alone (its own marker token)."""

    def __init__(self, base: Path, say):
        self.base = base
        self.say = say
        self.done: dict[Route, RouteRun] = {}
        self.tokens: set[str] = set()

    def get(self, route: Route, install: Install) -> RouteRun:
        if route not in self.done:
            self.done[route] = self._grade(route, install)
        return self.done[route]

    def _grade(self, route: Route, install: Install) -> RouteRun:
        token = uuid.uuid4().hex
        self.tokens.add(token)
        work = self.base / f"route-{len(self.done)}"
        markers = work / "markers"
        markers.mkdir(parents=True)
        hostile = [c for c in cases(token) if _grades(route, c)]
        controls = ["control_empty"] + (
            ["control_textbook"] if any(c.baseline == "control_textbook" for c in hostile) else []
        )
        class_dir = write_class(work / "class", hostile, TEXTBOOK, controls)
        students = controls + [c.name for c in hostile]
        env = install.environment(markers)
        started = time.monotonic()
        outcomes = (_grade_each if route.hand_typed else _grade_class)(route, install, students, class_dir, work, env)
        seconds = time.monotonic() - started
        again = iter(range(1, 1000))

        def regrade(student: str) -> Outcome:
            folder = work / f"again-{next(again)}"
            if route.hand_typed:
                outcome = _grade_each(route, install, [student], class_dir, folder, env)[student]
            else:
                outcome = _grade_class(route, install, [student], class_dir, folder, env, only=student)[student]
            self.say(f"[trust] {route.id}: graded {student} again: {outcome.detail}")
            return outcome

        run = RouteRun(route, outcomes, _markers([markers, FALLBACK_MARKERS], token), seconds, regrade)
        ran = sorted({m.get("case") for m in run.markers})
        self.say(
            f"[trust] {route.id}: {len(students)} students ({len(hostile)} hostile) in {run.seconds:.1f} s; "
            f"markers from {len(ran)} student(s){': ' + ', '.join(ran) if ran else ''}"
        )
        return run

    def forget_fallback_markers(self) -> None:
        if not FALLBACK_MARKERS.is_dir():
            return
        for path in FALLBACK_MARKERS.glob("*.json"):
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("token") in self.tokens:
                    path.unlink()
            except (OSError, ValueError):
                continue
        try:
            FALLBACK_MARKERS.rmdir()  # only when no one else's markers are left in it
        except OSError:
            pass


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def say(request):
    """Figures go to the terminal of every run, passing or not, past output capture."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is None or capture is None:
            print(line, file=sys.stderr)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return write


def _grader_package(python: Path, cwd: Path) -> Path:
    found = subprocess.run(
        [str(python), "-c", "import grader, pathlib; print(pathlib.Path(grader.__file__).parent)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, f"{python} cannot import grader: {found.stderr}"
    return Path(found.stdout.strip()).resolve()


@pytest.fixture(scope="module")
def checkout_install() -> Install:
    """The virtualenv running this test, whose grader must be this checkout's (an editable install)."""
    bin_dir = Path(sys.executable).parent
    for tool in ("grader", "pytest"):
        assert (bin_dir / tool).is_file(), f"{bin_dir} has no {tool}: install the checkout with pip install -e ."
    package = _grader_package(bin_dir / "python", Path("/"))
    assert package == ROOT / "grader", f"{bin_dir} grades {package}, not this checkout's {ROOT / 'grader'}"
    return Install("checkout", bin_dir, "grader/", ROOT, (str(bin_dir / "pytest"),))


def _source_tree(source: Path) -> None:
    """A copy of the working tree to build from: a build in the checkout itself could ship stale build/lib files."""
    skipped_at_top = {".git", ".venv", "build", ".build", "reports", ".pytest_cache", ".hypothesis", ".benchmarks"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        gone = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        return gone | (skipped_at_top & set(names) if Path(folder) == ROOT else set())

    shutil.copytree(ROOT, source, ignore=ignore, symlinks=True)


@pytest.fixture(scope="module")
def regular_install(tmp_path_factory, say) -> Install:
    """The grader as users get it from an index: `pip install` (not -e) into a fresh virtualenv, built once."""
    base = tmp_path_factory.mktemp("regular-install")
    started = time.monotonic()
    _source_tree(base / "source")
    venv = base / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(base / "source"),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, f"pip install failed:\n{installed.stdout}\n{installed.stderr}"
    work = base / "work"  # typed from here: not the repository, nothing of the grader's
    work.mkdir()
    package = _grader_package(venv / "bin" / "python", work)
    assert venv in package.parents, f"the fresh virtualenv imports grader from {package}, not from its site-packages"
    say(
        f"[trust] regular install: venv and pip install of the working tree in {time.monotonic() - started:.1f} s "
        f"({package})"
    )
    return Install("regular", venv / "bin", str(package), work, (str(venv / "bin" / "python"), "-m", "pytest"))


@pytest.fixture(scope="module")
def route_runs(tmp_path_factory, say):
    runs = RouteRuns(tmp_path_factory.mktemp("trust"), say)
    started = time.monotonic()
    yield runs
    runs.forget_fallback_markers()
    say(
        f"[trust] {len(runs.done)} route(s), {sum(len(r.outcomes) for r in runs.done.values())} gradings, "
        f"{sum(len(r.markers) for r in runs.done.values())} marker(s), {time.monotonic() - started:.0f} s in all"
    )


@pytest.fixture
def route_run(request, route_runs) -> RouteRun:
    route: Route = request.param
    if route.sandbox == "docker":
        request.getfixturevalue("docker_ready")
    install = request.getfixturevalue(f"{route.install}_install")
    return route_runs.get(route, install)


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(("route_run", "case"), PAIRS, indirect=["route_run"])
def test_no_file_of_the_submission_runs_in_a_grader_process(route_run: RouteRun, case: Case):
    ran = route_run.markers_of(case.name)
    assert not ran, (
        f"{case.sentence} ran outside any sandbox, {len(ran)} time(s), when graded by "
        f"`{route_run.route.id}`:\n" + "\n".join(map(_describe, ran))
    )


def _within(got: Outcome, control: Outcome) -> bool:
    return got.earned <= control.earned and got.passed <= control.passed


@pytest.mark.parametrize(("route_run", "case"), PAIRS, indirect=["route_run"])
def test_the_submission_earns_no_more_than_its_real_programs(route_run: RouteRun, case: Case):
    got, control = route_run.outcomes[case.name], route_run.outcomes[case.baseline]
    if case.baseline == "control_textbook":  # an empty control runs no program, nothing of it can fail by luck
        control = route_run.best_of(case.baseline, control, lambda c: _within(got, c))
    # Were the control not graded at all, a hostile student the grader also failed on would match it.
    assert control.graded, f"{case.baseline} was not graded by `{route_run.route.id}`: {control.detail}"
    within = _within(got, control)
    assert within, (
        f"{case.sentence}: {got.earned:g} points, {case.baseline} {control.earned:g} in the same run of "
        f"`{route_run.route.id}`\n  checks passed only by it: {_some(got.passed - control.passed)}"
        f"\n  it: {got.detail}\n  {case.baseline}: {control.detail}"
    )


@pytest.mark.parametrize(
    ("route_run", "case"), [p for p in PAIRS if p.values[1].kind == "everything"], indirect=["route_run"]
)
def test_the_textbook_programs_earn_the_same_beside_every_hostile_file(route_run: RouteRun, case: Case):
    control = route_run.outcomes[case.baseline]
    got = route_run.best_of(case.name, route_run.outcomes[case.name], lambda g: g.earned >= control.earned)
    control = route_run.best_of(case.baseline, control, lambda c: c.earned >= got.earned)
    assert control.graded and control.earned > 0, f"{case.baseline} earned nothing: {control.detail}"
    assert got.earned == control.earned, (
        f"{case.sentence}: {got.earned:g} points, {case.baseline} {control.earned:g} in the same run of "
        f"`{route_run.route.id}`\n  checks passed only by it: {_some(got.passed - control.passed)}"
        f"\n  checks passed only by {case.baseline}: {_some(control.passed - got.passed)}"
        f"\n  it: {got.detail}\n  {case.baseline}: {control.detail}"
    )


def _some(checks: frozenset[str], shown: int = 4) -> str:
    names = sorted(checks)
    return f"{len(names)}" + (f" ({', '.join(names[:shown])}{', ...' if len(names) > shown else ''})" if names else "")
