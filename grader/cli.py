"""`grader grade | merge | clean`: the instructor's and the CI pipeline's entry point.

Exit status 0 means the grader did its job, whatever the students scored; 2 means it
could not (no Docker where required, a broken spec, a missing folder), with one line
saying why; 130 means it was interrupted (what was graded is written).
"""

from __future__ import annotations

import argparse
import signal
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.etree.ElementTree import ParseError

from docker.errors import DockerException
from junitparser import TestSuite
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from grader import gradebook, handback, junit, pipeline
from grader.export import PLATFORMS, bundle
from grader.intake.download import DownloadError
from grader.intake.layouts import FOLDERS, LAYOUT_NAMES
from grader.intake.staging import read_submissions
from grader.model import StudentReport
from grader.names import shown
from grader.report import points_word, root_causes
from grader.roster import ALL, Entry, RosterError, parse_shard, select
from grader.sandbox import SandboxError, local
from grader.sandbox.choose import CHOICES as SANDBOX_CHOICES
from grader.sandbox.docker import engine_client, sweep_leftovers
from grader.scratch import scratch_dir, sweep_scratch
from grader.spec import Assignment, SpecError, load_assignment

EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130


class Fatal(Exception):
    """The grader cannot do what it was asked; the message says why and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_glue_student_names(list(sys.argv[1:] if argv is None else argv), parser))
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background by a shell (`cmd &`, nohup), SIGINT arrives ignored; but
        # SIGINT is how a grading is stopped cleanly, containers removed, results kept.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.command(args)
    except (Fatal, SpecError, RosterError, SandboxError, DownloadError) as exc:
        # One line, no traceback: the reader is an instructor or a CI log, not the grader's author.
        print(f"grader: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _glue_student_names(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`--only -x`: a student's name may start with a dash; each name after `--only` is glued (`--only=-x`).

    argparse would take `-x` for an unknown option. Only words that are no option of
    `grader grade` are names, so `--only alice --force` still forces.
    """
    # argparse keeps its subcommands private; they are there once _parser() has run.
    grade = next(
        action
        for action in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        if "--only" in action._option_string_actions
    )
    options = set(grade._option_string_actions)
    glued: list[str] = []
    naming = named = False
    for word in argv:
        if naming and word != "--" and word.split("=", 1)[0] not in options:
            glued.append(f"--only={word}")
            named = True
            continue
        if naming and not named:
            glued.append("--only")  # no name after it: argparse says so
        naming, named = word == "--only", False
        if not naming:
            glued.append(word)
    if naming and not named:
        glued.append("--only")
    return glued


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade socket-lab submissions.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    grade = commands.add_parser(
        "grade",
        help="grade every submission into a report folder",
        description="Grade each student folder (or .zip) of SUBMISSIONS_DIR in its own "
        "pytest process; write JUnit, gradebook.xml/.csv, feedback and results.",
    )
    grade.add_argument(
        "submissions",
        nargs="?",
        default="submissions",
        metavar="SUBMISSIONS",
        help="one folder or .zip per student, or an LMS's bulk download as downloaded: the folder "
        "or the .zip itself (default: submissions)",
    )
    grade.add_argument(
        "--layout",
        default="auto",
        choices=("auto", *LAYOUT_NAMES),
        help=f"how SUBMISSIONS is arranged: auto (default: recognised by its names), {FOLDERS} "
        "(one folder or .zip per student), or the LMS whose download it is",
    )
    grade.add_argument("--out", default="reports", help="report folder (default: reports)")
    grade.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        help=f"submissions graded at once (default: {pipeline.default_jobs()}; 1 with local sandbox)",
    )
    grade.add_argument("--assignment", default="uppercase", help="assignment name or .toml path (default: uppercase)")
    grade.add_argument(
        "--sandbox",
        default="auto",
        choices=SANDBOX_CHOICES,
        help="docker, local processes (one at a time, not sandboxed), or auto (default)",
    )
    grade.add_argument("--seed", type=int, default=None, help="seed of every impairment (default: the assignment's)")
    grade.add_argument(
        "--only",
        nargs="+",
        action="extend",
        default=[],
        metavar="STUDENT",
        help="grade only these students (the gradebook still lists everyone graded before)",
    )
    grade.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="grade shard I of N (1-based), chosen by a hash of each student's name",
    )
    grade.add_argument("--force", action="store_true", help="grade again even what the cache says is unchanged")
    grade.add_argument(
        "--time-limit",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="time limit of one submission's grading: the checks not reached by then fail, "
        "the others keep their results (default: the assignment's [timeouts] submission)",
    )
    grade.set_defaults(command=_grade)

    merge = commands.add_parser(
        "merge",
        help="join the reports of several shards into one gradebook",
        description="Read DIR/junit/*.xml (or DIR/*.xml) of every DIR and write one "
        "report folder, as `grader grade` would have.",
    )
    merge.add_argument("dirs", nargs="+", metavar="DIR", help="report folders of the shards")
    merge.add_argument("--out", required=True, help="report folder to write")
    merge.set_defaults(command=_merge)

    back = commands.add_parser(
        "handback",
        help="write the grade file an LMS imports, from a report folder",
        description="Read REPORTS/junit/*.xml and write a Canvas gradebook import CSV, a "
        "Moodle grading worksheet or a plain CSV keyed by login, with a short "
        "comment per student. Students the file cannot name are listed, never "
        "guessed.",
    )
    back.add_argument("reports", metavar="REPORTS", help="the --out folder of grader grade (or merge)")
    back.add_argument(
        "--format",
        required=True,
        choices=handback.FORMATS,
        dest="format_name",
        help="canvas (gradebook import), moodle (grading worksheet) or csv (login, score, comment)",
    )
    back.add_argument("--title", default=None, help="canvas: the assignment's title, as Canvas shows it")
    back.add_argument("--assignment-id", default=None, help="canvas: the assignment's id (the number in its URL)")
    back.add_argument(
        "--out", default=None, metavar="FILE", help="file to write (default: REPORTS/<format>-grades.csv)"
    )
    back.set_defaults(command=_handback)

    clean = commands.add_parser(
        "clean", help="remove containers, volumes, networks and scratch folders left by graders that died"
    )
    clean.add_argument(
        "--all",
        action="store_true",
        help="remove every socketlab container, network and scratch folder, including those of a grading still running",
    )
    clean.set_defaults(command=_clean)

    export = commands.add_parser(
        "export",
        help="build the autograder a platform runs (see docs/platforms.md)",
        description="Write what an instructor uploads to PLATFORM: Gradescope's "
        "autograder.zip, PrairieLearn's image folder, Autolab's autograde.tar "
        "and autograde-Makefile, GitHub Classroom's template-repository files.",
    )
    export.add_argument("platform", choices=PLATFORMS, metavar="PLATFORM", help=", ".join(PLATFORMS))
    export.add_argument("--out", required=True, help="folder to write the bundle into")
    export.add_argument("--assignment", default="uppercase", help="assignment name or .toml path (default: uppercase)")
    export.set_defaults(command=_export)
    return parser


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


# --- grade --------------------------------------------------------------------------------


def _grade(args: argparse.Namespace) -> int:
    assignment = load_assignment(args.assignment)
    # An LMS download's files are copied out per student for the run, and gone after it.
    with scratch_dir("intake") as staging:
        intake = read_submissions(Path(args.submissions), args.layout, Path(staging))
        return _grade_class(args, assignment, intake.entries, intake.layout, intake.notes)


def _grade_class(
    args: argparse.Namespace, assignment: Assignment, entries: list[Entry], layout: str, notes: list[str]
) -> int:
    err = Console(stderr=True)
    students, todo = select(entries, parse_shard(args.shard) if args.shard else ALL, args.only)
    if layout != FOLDERS:
        err.print(f"{escape(args.submissions)}: a {layout} download, {len(students)} student(s)", highlight=False)
    for note in notes:
        err.print(f"Note: {escape(note)}", highlight=False)
    if not students:
        err.print(
            f"No submissions in {escape(args.submissions)} (one folder or .zip per student)"
            + (f" for shard {escape(args.shard)}" if args.shard else "")
            + ".",
            highlight=False,
        )
    sandbox, environment = pipeline.resolve_sandbox(args.sandbox)
    jobs = args.jobs or pipeline.default_jobs()
    student = local.student_user() if sandbox == "local" else None
    if sandbox == "local":
        if args.sandbox == "auto":
            err.print("Docker is not reachable: grading with local processes, which are [bold]not sandboxed[/].")
        err.print(f"[bold]Warning:[/] {escape(local.not_sandboxed_warning(student, ran=False))}", highlight=False)
        if args.jobs and args.jobs > 1:
            err.print("--jobs ignored: local programs all use the host's port 12000, so one grading runs at a time.")
        jobs = 1
    if student is not None:
        local.close_to_others()  # what this run writes, its pytest children's files too
    pipeline.sweep_leftovers_of_dead_graders()
    out = _output_folder(args.out)
    if student is not None:
        _withhold_reports(out)
    settings = pipeline.Settings(
        assignment,
        sandbox,
        assignment.seed if args.seed is None else args.seed,
        jobs,
        args.time_limit,
        environment,
        args.force,
    )
    try:
        outcome = _run_with_progress(todo, settings, out, err)
    finally:
        pipeline.sweep_leftovers_of_dead_graders()
    reports = _publish(out, pipeline.collect(out, [e.name for e in students]))
    graded_now = {g.report.student: "cached" if g.cached else "" for g in outcome.graded}
    _summary(reports, {r.student: graded_now.get(r.student, "earlier run") for r in reports}, out)
    if outcome.throttled:
        err.print(outcome.throttled, highlight=False)
    if outcome.interrupted:
        err.print(
            f"Interrupted: {len(todo) - len(outcome.graded)} submission(s) not graded; "
            "run the same command again to finish."
        )
        return EXIT_INTERRUPTED
    return 0


def _output_folder(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Fatal(f"{out}: cannot write reports there ({exc.strerror}); pass another --out") from None
    return out


def _run_with_progress(todo: list[Entry], settings: pipeline.Settings, out: Path, console: Console) -> pipeline.Outcome:
    progress = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failures]} with failures"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task("grading", total=len(todo), failures=0)
    failures = 0

    def done(graded: pipeline.Graded) -> None:
        nonlocal failures
        report = graded.report
        if report.grader_error is not None or report.failures:
            failures += 1
        note = " (cached)" if graded.cached else ""
        progress.console.print(f"{escape(report.student)}: {_score(report)}{note}", highlight=False)
        progress.update(task, advance=1, failures=failures)

    with progress:
        return pipeline.grade(todo, settings, out, done)


# Everything `grader grade` writes into --out: the folder itself is the instructor's, and keeps its mode.
GRADER_OUTPUTS = ("junit", "cache", "feedback", "results", gradebook.GRADEBOOK_XML, gradebook.GRADEBOOK_CSV)


def _withhold_reports(out: Path) -> None:
    """Take "others" off what an earlier run wrote, for the student user may be one of them.

    A folder closed this way hides its files, whatever their own modes. Symlinks are
    left alone: chmod would change what they point at.
    """
    for name in GRADER_OUTPUTS:
        path = out / name
        try:
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode):
                path.chmod(stat.S_IMODE(info.st_mode) & ~0o007)
        except OSError:
            pass  # not there (a first run); a failure to write there is reported by the writer


# --- merge --------------------------------------------------------------------------------


def _merge(args: argparse.Namespace) -> int:
    out = _output_folder(args.out)
    suites: dict[str, tuple[TestSuite, Path]] = {}
    for folder in map(Path, args.dirs):
        for file in _junit_files(folder):
            try:
                found = junit.read_suites(file)
            except (OSError, ParseError) as exc:
                raise Fatal(f"{file}: not a readable JUnit file ({exc})") from None
            for suite in found:
                if suite.name in suites:
                    raise Fatal(
                        f"student {suite.name!r} is in both {suites[suite.name][1]} and {file}; merge each shard once"
                    )
                suites[suite.name] = (junit.normalize_suite(suite, suite.name), file)
    for name, (suite, _) in suites.items():
        junit.write_suite(suite, out / "junit" / f"{name}.xml")
    reports = _publish(out, [suite for suite, _ in suites.values()])
    _summary(reports, {}, out)
    return 0


def _junit_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise Fatal(f"{folder}: no such folder; pass the --out folders of the shards")
    nested = folder / "junit"
    return sorted((nested if nested.is_dir() else folder).glob("*.xml"))


# --- handback ----------------------------------------------------------------------------


def _handback(args: argparse.Namespace) -> int:
    if args.format_name == "canvas" and not (args.title and args.assignment_id and args.assignment_id.isdigit()):
        raise Fatal(
            "--format canvas needs --title TITLE and --assignment-id N (the number in the assignment's URL): "
            "Canvas matches the grade column by both"
        )
    reports = []
    for file in _junit_files(Path(args.reports)):
        try:
            reports += [junit.report(suite) for suite in junit.read_suites(file)]
        except (OSError, ParseError) as exc:
            raise Fatal(f"{file}: not a readable JUnit file ({exc})") from None
    reports.sort(key=lambda r: gradebook.student_order(r.student))
    if args.format_name == "canvas":
        result = handback.canvas_csv(reports, args.title, args.assignment_id)
    elif args.format_name == "moodle":
        result = handback.moodle_worksheet(reports)
    else:
        result = handback.plain_csv(reports)
    target = Path(args.out) if args.out else Path(args.reports) / f"{args.format_name}-grades.csv"
    try:
        target.write_text(result.text, encoding="utf-8")
    except OSError as exc:
        raise Fatal(f"{target}: cannot write it ({exc.strerror}); pass another --out") from None
    print(f"wrote {target}: {len(reports) - len(result.missing)} student(s)")
    for line in result.missing:
        print(f"not in it, enter by hand: {shown(line)}", file=sys.stderr)
    return 0


# --- clean --------------------------------------------------------------------------------


def _clean(args: argparse.Namespace) -> int:
    folders = sweep_scratch(everything=args.all)
    print(f"removed {folders} socketlab scratch folder(s)")
    try:
        client = engine_client()
        client.ping()
    except DockerException as exc:
        raise Fatal(f"Docker engine not reachable ({exc.__class__.__name__}); nothing to clean there") from None
    try:
        removed = sweep_leftovers(client, everything=args.all)
    except DockerException as exc:
        raise Fatal(f"Docker refused the clean-up: {exc}") from None
    finally:
        client.close()
    print(f"removed {removed} socketlab container(s), volume(s) and network(s)")
    return 0


# --- export -------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    assignment = load_assignment(args.assignment)
    try:
        made = bundle.export(args.platform, assignment, Path(args.out))
    except bundle.ExportError as exc:
        raise Fatal(str(exc)) from None
    except OSError as exc:
        raise Fatal(f"{args.out}: cannot write the bundle there ({exc.strerror}); pass another --out") from None
    for path in made:
        print(f"wrote {path}")
    print(f"Next: the {args.platform} steps in docs/platforms.md")
    return 0


# --- output -------------------------------------------------------------------------------


def _publish(out: Path, suites: list[TestSuite]) -> list[StudentReport]:
    try:
        return gradebook.publish(out, suites)
    except OSError as exc:
        raise Fatal(f"{out}: cannot write the gradebook ({exc.strerror})") from None


def _score(report: StudentReport) -> str:
    if report.grader_error is not None:
        return "grader error"
    percent = "" if report.percent is None else f" ({report.percent:.0f} %)"
    varied = " varied" if report.varied else ""
    return f"{report.score:g}/{report.max_score:g}{percent}{varied}"


def _costliest_cause(report: StudentReport) -> str:
    if report.grader_error is not None:
        return shown(report.grader_error.splitlines()[0]) if report.grader_error else ""
    causes = root_causes(report.failures)
    if not causes:
        return ""
    more = f" (+{len(causes) - 1} more)" if len(causes) > 1 else ""
    # shown: a cause may quote what a program printed, and an ESC there would reach the terminal.
    return shown(f"{points_word(causes[0].lost)}: {causes[0].text}{more}", 1000)


def _summary(reports: list[StudentReport], notes: dict[str, str], out: Path) -> None:
    """One row per student; `notes` marks results not graded by this run (cached, earlier run)."""
    console = Console()
    for warning in dict.fromkeys(r.properties["warning"] for r in reports if r.properties.get("warning")):
        console.print(f"[bold]Warning:[/] {escape(warning)}", highlight=False)
    if not reports:
        console.print(f"No student reports; {escape(str(out))}/ holds an empty gradebook.", highlight=False)
        return
    rows = [
        (
            report.student + (f" ({notes[report.student]})" if notes.get(report.student) else ""),
            _score(report),
            _costliest_cause(report),
        )
        for report in reports
    ]
    # Names and scores are never cut; the cause gets the width that is left (10: borders and padding).
    left = max(
        20, console.width - 10 - max((len(r[0]) for r in rows), default=0) - max((len(r[1]) for r in rows), default=0)
    )
    table = Table(title=f"{len(reports)} student(s)")
    table.add_column("student", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("what cost the most points", no_wrap=True)
    for name, score, failure in rows:
        shown = failure if len(failure) <= left else failure[: left - 1] + "…"
        table.add_row(escape(name), escape(score), escape(shown))
    console.print(table)
    varied = [r.student for r in reports if r.varied]
    if varied:
        console.print(
            f"varied: {len(varied)} student(s) had checks that failed once and passed when run again "
            "alone (the points are the second run's); the checks are in gradebook.csv's varied column.",
            highlight=False,
        )
    console.print(
        f"Reports in {escape(str(out))}/: gradebook.xml, gradebook.csv, junit/, feedback/, results/, html/",
        highlight=False,
    )
