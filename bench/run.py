"""`make bench`: the grader's figures, each measured in the same run as its baseline.

    python -m bench.run [--quick] [--sizes N ...] [--jobs J|default ...] [--runs R] [--exchanges E]

Per-exchange overhead and start-up come first, while the machine is quiet; the gradings
last. Prints one table and writes bench/results/<UTC timestamp>.json and
bench/results/latest.json. The targets are the issue's, each beside its baseline:

- 100 textbook submissions graded, all four roles, in at most 60 s at the default --jobs
  (beside --jobs 1), linear in N (the growth rows), and the grader's peak memory meanwhile
  under 300 MiB;
- machine CPU per textbook submission at most 5x that of one
  `docker run --rm --network none <runtime image> python3 -c 1` (bench.docker_run);
- per-exchange overhead within 1.5x a bare socket's round trip;
- the student's self-check (`pytest grader/ --submission=DIR`) in at most 3 s for the
  reference and 5 s for textbook_complete, beside the same command's --collect-only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import docker_run, exchange, selfcheck, startup, throughput
from bench.docker_run import DockerRunFigures
from bench.exchange import ExchangeFigures
from bench.selfcheck import SelfCheckFigures, SelfCheckTiming
from bench.startup import StartupFigures
from bench.stats import ratio
from bench.throughput import ClassTiming, Scaling
from grader.pipeline import default_jobs

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_SUBMISSIONS = 100
TARGET_SECONDS = 60.0
TARGET_EXCHANGE_RATIO = 1.5
TARGET_MEMORY_MIB = 300.0
TARGET_CPU_RATIO = 5.0  # machine CPU per submission, against one bare `docker run`
TARGET_SELFCHECK_REFERENCE_SECONDS = 3.0
TARGET_SELFCHECK_TEXTBOOK_SECONDS = 5.0
SLOWEST_SHOWN = 3  # checks named under "one submission's checks"


@dataclass(frozen=True)
class Amounts:
    """How much one bench measures; written into its results as the options."""

    sizes: list[int]  # submissions per grading
    runs: int  # start-ups and bare docker runs
    exchanges: int  # round trips per variant
    selfchecks: int  # self-checks per submission
    jobs: list[int] = dataclasses.field(default_factory=list)


QUICK = Amounts(sizes=[10], runs=5, exchanges=200, selfchecks=3)
FULL = Amounts(sizes=[10, 30, 100], runs=20, exchanges=500, selfchecks=5)


@dataclass(frozen=True)
class Baseline:
    """What a target's figure stands beside, measured in the same run, in the target's unit."""

    name: str
    value: float | None  # None: this run did not measure it
    limit_ratio: float | None = None  # the figure may be at most this many times the value; None: shown, not judged


@dataclass(frozen=True)
class Target:
    """A figure and its limits: at most `limit`, at most `baseline.limit_ratio` times the baseline, or both."""

    name: str
    measured: float | None  # None: this run did not measure it (a size left out)
    limit: float | None  # None: judged against the baseline alone
    unit: str
    decimals: int = 0  # shown
    baseline: Baseline | None = None

    @property
    def ratio(self) -> float | None:
        if self.measured is None or self.baseline is None or self.baseline.value is None:
            return None
        return ratio(self.measured, self.baseline.value)

    @property
    def met(self) -> bool | None:
        """False when a limit measured is missed, None when one is not measured, else True."""
        verdicts: list[bool | None] = []
        if self.limit is not None:
            verdicts.append(None if self.measured is None else self.measured <= self.limit)
        if self.baseline is not None and self.baseline.limit_ratio is not None:
            # A zero baseline has no honest ratio (stats.ratio), so it judges nothing either.
            verdicts.append(None if self.ratio is None else self.ratio <= self.baseline.limit_ratio)
        if False in verdicts:
            return False
        return None if None in verdicts or not verdicts else True


@dataclass(frozen=True)
class Targets:
    throughput: Target
    exchange: Target
    memory: Target
    machine_cpu: Target
    selfcheck_reference: Target
    selfcheck_textbook: Target


@dataclass(frozen=True)
class Results:
    exchange: ExchangeFigures
    startup: StartupFigures
    docker_run: DockerRunFigures
    selfcheck: SelfCheckFigures
    gradings: list[ClassTiming]
    scaling: list[Scaling]
    default_jobs: int
    cores: int


def targets(results: Results) -> Targets:
    at_target = _grading(results.gradings, TARGET_SUBMISSIONS, results.default_jobs)
    serial = _grading(results.gradings, TARGET_SUBMISSIONS, 1)
    # CPU per submission hardly depends on N, so the largest grading at the default --jobs judges it.
    largest = _largest(results.gradings, results.default_jobs)
    grader, bare = (next(v for v in results.exchange.variants if v.name == name) for name in ("grader", "bare socket"))
    return Targets(
        Target(
            f"{TARGET_SUBMISSIONS} submissions at --jobs {results.default_jobs}",
            at_target.seconds if at_target else None,
            TARGET_SECONDS,
            "s",
            baseline=Baseline("--jobs 1", serial.seconds if serial else None),
        ),
        Target(
            "per-exchange round trip, median",
            grader.round_trips.median * 1e6,
            None,
            "µs",
            decimals=1,
            baseline=Baseline("bare socket", bare.round_trips.median * 1e6, TARGET_EXCHANGE_RATIO),
        ),
        Target(
            f"grader memory, {TARGET_SUBMISSIONS} submissions",
            at_target.memory.tree_mib if at_target else None,
            TARGET_MEMORY_MIB,
            "MiB",
        ),
        Target(
            "machine CPU per submission" + (f", N={largest.submissions}" if largest else ""),
            largest.cpu_seconds_per_submission if largest else None,
            None,
            "s",
            decimals=2,
            baseline=Baseline("bare docker run", results.docker_run.cpu.median, TARGET_CPU_RATIO),
        ),
        _selfcheck_target(results.selfcheck.reference, TARGET_SELFCHECK_REFERENCE_SECONDS),
        _selfcheck_target(results.selfcheck.textbook, TARGET_SELFCHECK_TEXTBOOK_SECONDS),
    )


def _selfcheck_target(timing: SelfCheckTiming, limit: float) -> Target:
    return Target(
        f"self-check, {timing.submission}",
        timing.check.median,
        limit,
        "s",
        decimals=2,
        baseline=Baseline("--collect-only", timing.collect_only.median),
    )


def _grading(gradings: Sequence[ClassTiming], submissions: int, jobs: int) -> ClassTiming | None:
    return next((g for g in gradings if g.submissions == submissions and g.jobs == jobs), None)


def _largest(gradings: Sequence[ClassTiming], jobs: int) -> ClassTiming | None:
    at_jobs = [g for g in gradings if g.jobs == jobs]
    return max(at_jobs, key=lambda g: g.submissions) if at_jobs else None


def _verdict(target: Target) -> str:
    mark = {True: "[green]met[/]", False: "[red]missed[/]", None: "[dim]not measured[/]"}[target.met]
    limits = []
    if target.limit is not None:
        limits.append(f"≤ {target.limit:g} {target.unit}")
    if target.baseline is not None and target.baseline.limit_ratio is not None:
        limits.append(f"≤ {target.baseline.limit_ratio:g}x baseline")
    return f"{' and '.join(limits)}: {mark}"


def _amount(value: float | None, target: Target) -> str:
    return "not measured" if value is None else f"{value:.{target.decimals}f} {target.unit}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def _times(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def build_table(results: Results) -> Table:
    table = Table(title=f"socket-lab grader bench ({results.cores} cores, default --jobs {results.default_jobs})")
    for column in ("figure", "measured", "baseline", "ratio"):
        table.add_column(column, no_wrap=True)
    table.add_column("target")
    _throughput_rows(table, results)
    _bound_rows(table, results)
    _exchange_rows(table, results.exchange)
    _startup_rows(table, results.startup, results.docker_run)
    _selfcheck_rows(table, results.selfcheck)
    _memory_rows(table, results)
    _target_rows(table, targets(results))
    return table


def _heading(table: Table, title: str, detail: str) -> None:
    table.add_section()
    table.add_row(f"[bold]{title}[/]", f"[dim]{detail}[/]")


def _throughput_rows(table: Table, results: Results) -> None:
    _heading(table, "Throughput", "textbook_complete x N, uppercase")
    serial = {g.submissions: g for g in results.gradings if g.jobs == 1}
    for grading in results.gradings:
        baseline = serial.get(grading.submissions) if grading.jobs != 1 else None
        table.add_row(
            f"N={grading.submissions}, --jobs {grading.jobs}",
            f"{grading.seconds:.0f} s, {grading.submissions_per_minute:.1f}/min, "
            f"{grading.seconds_per_submission:.2f} s each"
            + ("" if grading.all_full_marks else " [red]not all 100 %[/]"),
            f"--jobs 1: {baseline.seconds:.0f} s" if baseline else "",
            f"{_times(baseline.seconds / grading.seconds)} faster" if baseline else "",
        )
    for scale in results.scaling:
        table.add_row(
            f"growth, --jobs {scale.jobs}",
            f"{scale.largest_seconds_each:.2f} s each at N={scale.largest}",
            f"{scale.smallest_seconds_each:.2f} s each at N={scale.smallest}",
            _times(scale.ratio),
            "linear: 1.00x",
        )


def _bound_rows(table: Table, results: Results) -> None:
    """What bounds the throughput: how long one submission takes, and how much CPU it costs."""
    serial = _largest(results.gradings, 1)
    parallel = _largest(results.gradings, results.default_jobs)
    if serial is None and parallel is None:
        return
    _heading(table, "What bounds it", "time and CPU per submission")
    if serial is not None:
        checks = serial.first_student_checks
        table.add_row(
            "one submission's checks",
            f"{sum(c.seconds for c in checks):.1f} s in {len(checks)} checks",
            f"{serial.seconds_per_submission:.1f} s each at --jobs 1",
        )
        for check in checks[:SLOWEST_SHOWN]:
            table.add_row(f"  {check.check}", f"{check.seconds:.1f} s")
        needed = TARGET_SUBMISSIONS * serial.seconds_per_submission / TARGET_SECONDS
        table.add_row(f"gradings at once for {TARGET_SUBMISSIONS} in {TARGET_SECONDS:.0f} s", f"{needed:.0f}")
    if parallel is not None:
        floor = TARGET_SUBMISSIONS * parallel.cpu_seconds_per_submission / results.cores
        per_container = results.startup.docker_cpu.median
        table.add_row(
            "containers per submission",
            f"{parallel.containers_per_submission:.1f}",
            f"× {per_container:.2f} s CPU each (start-up)",
            "",
            f"≈ {parallel.containers_per_submission * per_container:.1f} s CPU",
        )
        table.add_row(
            "machine CPU per submission",
            f"{parallel.cpu_seconds_per_submission:.2f} s "
            f"(grader's processes {parallel.grader_cpu_seconds_per_submission:.2f} s)",
            f"N={parallel.submissions}, --jobs {parallel.jobs}",
            "",
            f"{TARGET_SUBMISSIONS} need ≥ {floor:.0f} s of {results.cores} cores",
        )


def _exchange_rows(table: Table, figures: ExchangeFigures) -> None:
    _heading(table, "Per exchange", f"round trip, {figures.exchanges} each")
    bare = figures.variants[0].round_trips
    for variant in figures.variants[1:]:
        trips = variant.round_trips
        table.add_row(
            variant.name,
            f"{_us(trips.median)}, p99 {_us(trips.p99)}",
            f"bare {_us(bare.median)}, p99 {_us(bare.p99)}",
            f"{_times(variant.median_ratio)}, p99 {_times(variant.p99_ratio)}",
        )


def _startup_rows(table: Table, figures: StartupFigures, bare: DockerRunFigures) -> None:
    _heading(table, "Start-up", f"UDP server until it answers, {figures.runs} runs")
    table.add_row(
        "docker run (grader's sandbox)",
        f"{figures.docker.median * 1000:.0f} ms, worst {figures.docker.worst * 1000:.0f} ms",
        f"local process {figures.local.median * 1000:.0f} ms",
        _times(figures.median_ratio),
    )
    table.add_row(
        "machine CPU per start and stop",
        f"{figures.docker_cpu.median:.2f} s",
        f"local process {figures.local_cpu.median:.2f} s",
        _times(ratio(figures.docker_cpu.median, figures.local_cpu.median)),
    )
    table.add_row(
        "machine CPU per bare docker run",
        f"{bare.cpu.median:.2f} s, worst {bare.cpu.worst:.2f} s",
        f"python3 -c 1, {bare.wall.median * 1000:.0f} ms, {bare.runs} runs",
    )
    # Every machine-CPU figure counts the machine's other work too; this says how much there was.
    table.add_row("other work, the bench at rest", f"{bare.rest_cores.median:.2f} cores busy")


def _selfcheck_rows(table: Table, figures: SelfCheckFigures) -> None:
    _heading(table, "Self-check", f"pytest grader/ --submission, {figures.reference.runs} runs")
    for timing in (figures.reference, figures.textbook):
        table.add_row(
            timing.submission,
            f"{timing.check.median:.2f} s, worst {timing.check.worst:.2f} s",
            f"--collect-only {timing.collect_only.median:.2f} s",
            _times(timing.median_ratio),
        )


def _memory_rows(table: Table, results: Results) -> None:
    grading = _largest(results.gradings, results.default_jobs)
    if grading is None:
        return
    _heading(table, "Memory", f"peak RSS, N={grading.submissions} at --jobs {grading.jobs}")
    table.add_row(
        "grader (grade + pytest children)",
        f"{grading.memory.tree_mib:.0f} MiB, {grading.memory.tree_processes} processes",
    )
    table.add_row("grader grade process alone", f"{grading.memory.parent_mib:.0f} MiB")


def _target_rows(table: Table, goals: Targets) -> None:
    _heading(table, "Targets", f"time and memory judged at N={TARGET_SUBMISSIONS} only")
    for field in dataclasses.fields(goals):
        goal: Target = getattr(goals, field.name)
        baseline = "" if goal.baseline is None else f"{goal.baseline.name}: {_amount(goal.baseline.value, goal)}"
        measured = "" if goal.measured is None else _amount(goal.measured, goal)
        table.add_row(goal.name, measured, baseline, _times(goal.ratio), _verdict(goal))


def to_json(results: Results, options: dict, started: float, seconds: float, load_before: float) -> dict:
    return {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(seconds, 1),
        "machine": {
            "cores": results.cores,
            "default_jobs": results.default_jobs,
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg()[0],
        },
        "commit": _commit(),
        "options": options,
        "targets": {
            field: {**dataclasses.asdict(t), "ratio": t.ratio, "met": t.met}
            for field, t in vars(targets(results)).items()
        },
        "exchange": dataclasses.asdict(results.exchange),
        "startup": dataclasses.asdict(results.startup),
        "docker_run": dataclasses.asdict(results.docker_run),
        "selfcheck": dataclasses.asdict(results.selfcheck),
        "throughput": [dataclasses.asdict(g) for g in results.gradings],
        "scaling": [dataclasses.asdict(s) for s in results.scaling],
    }


def _commit() -> str:
    """The commit measured, marked when the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=RESULTS.parent.parent, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + (" (modified)" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_results(document: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = document["started_utc"].replace("-", "").replace(":", "")
    path = folder / f"{stamp}.json"
    text = json.dumps(document, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return path


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"N={QUICK.sizes[0]} only, {QUICK.runs} start-ups, {QUICK.exchanges} exchanges, "
        f"{QUICK.selfchecks} self-checks",
    )
    parser.add_argument("--sizes", type=_positive, nargs="+", help=f"submissions per grading (default {FULL.sizes})")
    parser.add_argument(
        "--jobs",
        type=throughput.job_count,
        nargs="+",
        default=[1, default_jobs()],
        help="job counts to grade at; `default` is grader grade's own (default: 1 default)",
    )
    parser.add_argument("--runs", type=_positive, help=f"start-ups and bare docker runs to time (default {FULL.runs})")
    parser.add_argument("--exchanges", type=_positive, help=f"round trips per variant (default {FULL.exchanges})")
    parser.add_argument(
        "--selfchecks", type=_positive, help=f"self-checks to time per submission (default {FULL.selfchecks})"
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    amounts = Amounts(
        sizes=args.sizes or preset.sizes,
        runs=args.runs or preset.runs,
        exchanges=args.exchanges or preset.exchanges,
        selfchecks=args.selfchecks or preset.selfchecks,
        jobs=list(dict.fromkeys(args.jobs)),
    )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log has no width of its own, and 80 columns would fold every cell
    started, clock, load_before = time.time(), time.monotonic(), os.getloadavg()[0]
    console.print(f"per-exchange overhead: {amounts.exchanges} round trips per variant ...")
    exchange_figures = exchange.measure(amounts.exchanges)
    console.print(f"start-up: {amounts.runs} runs ...")
    startup_figures = startup.measure(amounts.runs)
    console.print(f"bare docker run: {amounts.runs} runs ...")
    docker_run_figures = docker_run.measure(amounts.runs)
    console.print(f"self-check: {amounts.selfchecks} runs each of reference and textbook_complete ...")
    selfcheck_figures = selfcheck.measure(amounts.selfchecks)
    for timing in (selfcheck_figures.reference, selfcheck_figures.textbook):
        console.print(f"  {selfcheck.describe(timing)}", highlight=False, soft_wrap=True)
    console.print(f"throughput: N = {amounts.sizes} at --jobs {amounts.jobs} (the long part) ...")
    gradings = []
    for grading in throughput.measure(amounts.sizes, amounts.jobs):
        console.print(f"  {throughput.describe(grading)}", highlight=False, soft_wrap=True)
        gradings.append(grading)
    results = Results(
        exchange_figures,
        startup_figures,
        docker_run_figures,
        selfcheck_figures,
        gradings,
        throughput.scaling(gradings),
        default_jobs(),
        os.cpu_count() or 1,
    )
    seconds = time.monotonic() - clock
    console.print(build_table(results))
    path = write_results(to_json(results, dataclasses.asdict(amounts), started, seconds, load_before), RESULTS)
    # Other work on the machine moves every figure; the load says how much there was.
    console.print(
        f"bench took {seconds / 60:.1f} min, load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end; figures in {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
