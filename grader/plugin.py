"""pytest as the grader's runner: `pytest grader/ --submission DIR`.

One test per check of the assignment. Required checks that fail fail the run; advisory
ones are reported as xfail: shown, never failing the run, never costing points.

A plugin, not a conftest: it is registered through the `pytest11` entry point (and `-p
grader.plugin` where the grader starts pytest itself), so `--submission` is a known option
before pytest looks for conftests. Were it not, the `DIR` of `--submission DIR` would be
taken for a test path and a `conftest.py` in the submission imported, on the host, as the
grader's user. Loaded into every pytest session of the environment, it stays inert unless
the session runs the grader's own checks.

PYTEST_DONT_REWRITE: it has no assertion to rewrite, and a class run's fork server imports
it before pytest could (grader.runner), which pytest would otherwise warn about in each log.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from grader import PACKAGE_DIR
from grader.discover import DiscoveryError, discover
from grader.engine import CLIENT_RUNS_AT_ONCE, Grading
from grader.names import shown, terminal_text
from grader.report import terminal_summary
from grader.sandbox import SandboxError, local
from grader.sandbox.choose import CHOICES as SANDBOX_CHOICES
from grader.sandbox.choose import choose_sandbox, open_sandbox
from grader.spec import Assignment, SpecError, load_assignment

GRADER_DIR = PACKAGE_DIR

ASSIGNMENT = pytest.StashKey[Assignment]()
GRADING = pytest.StashKey[Grading]()
SANDBOX = pytest.StashKey[str]()
VARIED = "varied"  # suite property: the checks whose confirmation run passed where the first run failed
LANES = 6  # lanes of one submission at once: most of them wait (on absent replies, on a hung client)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("socketlab", "socket-lab grader")
    group.addoption("--submission", default=".", help="the student's folder (default: current folder)")
    group.addoption("--assignment", default="uppercase", help="assignment name or .toml path (default: uppercase)")
    group.addoption(
        "--sandbox",
        default="auto",
        choices=SANDBOX_CHOICES,
        help="docker, local processes, or auto: docker when the engine is reachable",
    )
    group.addoption("--seed", type=int, default=None, help="seed of every impairment (default: the assignment's)")
    group.addoption("--image", default=None, help="runtime image for --sandbox docker")
    group.addoption(
        "--netns-entry",
        default="auto",
        choices=("auto", "setns", "relay"),
        help="how the grader's sockets reach a loopback-only container: it enters the container's "
        "network namespace (setns, needs root), a relay container passes them out (relay), "
        "or auto: setns where allowed",
    )
    group.addoption(
        "--lanes",
        type=int,
        default=LANES,
        metavar="N",
        help=f"lanes of checks run side by side in Docker, sharing nothing (default: {LANES}; "
        "local processes always run one at a time)",
    )
    group.addoption(
        "--client-runs",
        type=int,
        default=CLIENT_RUNS_AT_ONCE,
        metavar="N",
        help=f"runs of one client role side by side, each in a container of its own (default: "
        f"{CLIENT_RUNS_AT_ONCE}; `grader grade` uses 1: a class is bound by the machine's CPU, "
        "and each container costs some)",
    )
    group.addoption(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="for all checks of the submission; checks not reached by then fail "
        "(default: the assignment's [timeouts] submission)",
    )


def grades(config: pytest.Config) -> bool:
    """Whether this session runs the grader's checks (`pytest grader/`), not some other project's tests."""
    paths = [Path(arg.split("::")[0]) for arg in config.args] or [Path(config.invocation_params.dir)]
    for path in paths:
        where = (config.invocation_params.dir / path).resolve()
        if where == GRADER_DIR or where.parent == GRADER_DIR:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    if not grades(config):
        return
    # SIGTERM (`timeout`, a CI runner cancelling a job) then tears the session down as Ctrl-C
    # does, so the sandbox removes its containers instead of leaving them running.
    signal.signal(signal.SIGTERM, _interrupt)
    # A failure is printed once, as its message; the captured stdout (the same report after
    # its data line) goes to JUnit only. Set here, whichever ini file pytest found.
    config.option.showcapture = "no"
    try:
        config.stash[ASSIGNMENT] = load_assignment(config.getoption("--assignment"))
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def sandbox_kind(config: pytest.Config) -> str:
    """docker or local: `auto` decided once, so that the header's warning and the grading agree."""
    if SANDBOX not in config.stash:
        kind = config.getoption("--sandbox")
        config.stash[SANDBOX] = choose_sandbox(kind, config.getoption("--image")) if kind == "auto" else kind
    return config.stash[SANDBOX]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        ASSIGNMENT in metafunc.config.stash
        and metafunc.module.__name__ == "grader.test_checks"
        and "check" in metafunc.fixturenames
    ):
        checks = metafunc.config.stash[ASSIGNMENT].checks
        metafunc.parametrize("check", checks, ids=[c.id for c in checks])


@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest, pytestconfig: pytest.Config, record_testsuite_property):
    assignment = pytestconfig.stash[ASSIGNMENT]
    try:
        submission = discover(Path(pytestconfig.getoption("--submission")))
        sandbox = open_sandbox(
            sandbox_kind(pytestconfig),
            image=pytestconfig.getoption("--image"),
            netns=pytestconfig.getoption("--netns-entry"),
        )
    except (DiscoveryError, SandboxError) as exc:
        pytest.exit(str(exc), returncode=4)
    seed = pytestconfig.getoption("--seed")
    grading = Grading(
        submission,
        assignment,
        sandbox,
        assignment.seed if seed is None else seed,
        pytestconfig.getoption("--time-limit"),
        max(1, pytestconfig.getoption("--lanes")),
        max(1, pytestconfig.getoption("--client-runs")),
    )
    found = ", ".join(f"{role.value}={p.source or ' '.join(p.command)}" for role, p in submission.programs.items())
    # Names from the submission are escaped: pytest writes property values raw, and an ESC
    # or a byte that is not UTF-8 would leave the student's JUnit file unreadable.
    record_testsuite_property("submission", shown(submission.name))
    record_testsuite_property("assignment", assignment.name)
    record_testsuite_property("seed", str(grading.seed))
    if sandbox.sandboxed:
        record_testsuite_property("sandbox", sandbox.name)
        record_testsuite_property("network", sandbox.network)
    else:
        user = local.student_user()
        record_testsuite_property("sandbox", local.sandbox_label(user))
        record_testsuite_property("warning", local.not_sandboxed_warning(user))
        if user is not None:
            local.close_to_others()  # the JUnit file, written at the end, among others
    record_testsuite_property("discovered", shown(found, 2000) or "nothing")
    # How each program was found, then why a role was not, when discovery knows: so a student
    # whose file was taken for the wrong role sees why.
    notes = [
        f"{role.value}: {p.source} (found by {p.found_by})"
        for role, p in submission.programs.items()
        if p.source is not None and p.found_by
    ]
    if notes or submission.notes:
        record_testsuite_property("discovery_notes", json.dumps([shown(note) for note in (*notes, *submission.notes)]))
    try:
        # Inside the `try`: a Ctrl-C that lands between starting the lanes and the first
        # check must still stop them, or they would keep the process (and containers) alive.
        grading.start_lanes(
            [
                params["check"]
                for item in request.session.items
                if "check" in (params := getattr(getattr(item, "callspec", None), "params", {}))
            ]
        )
        pytestconfig.stash[GRADING] = grading
        yield grading
    finally:
        grading.close()
        sandbox.close()
        record_testsuite_property("score", f"{sum(r.points for r in grading.results):g}")
        record_testsuite_property("max_score", f"{sum(r.max_points for r in grading.results):g}")
        varied = [r.check_id for r in grading.results if r.varied]
        if varied:  # the instructor's flag: a confirmation run disagreed with the first
            record_testsuite_property(VARIED, " ".join(varied))


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The score and what cost it, last on the student's screen: after pytest's own counts, not above them."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if GRADING not in config.stash or terminal is None:
        return
    terminal.write_sep("=", "socket-lab")
    for line in terminal_summary(config.stash[GRADING].results):
        terminal.write_line(terminal_text(line))


def pytest_report_header(config: pytest.Config) -> list[str]:
    if ASSIGNMENT not in config.stash:
        return []
    assignment = config.stash[ASSIGNMENT]
    kind = sandbox_kind(config)
    return [
        f"socket-lab grader: assignment {assignment.name} ({len(assignment.checks)} checks), "
        f"submission {config.getoption('--submission')}, sandbox {kind}",
        *_warnings(kind),
    ]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """-q (how `grader grade` runs pytest) hides the report header, and the warning with it: then it goes first."""
    config = session.config
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if ASSIGNMENT in config.stash and terminal is not None and (not terminal.showheader or terminal.no_header):
        for line in _warnings(sandbox_kind(config)):
            terminal.write_line(line, yellow=True, bold=True)


def _warnings(kind: str) -> list[str]:
    return [f"WARNING: {local.not_sandboxed_warning(local.student_user(), ran=False)}"] if kind == "local" else []
