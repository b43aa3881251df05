"""The pure parts of `make bench`: statistics, CPU counters, the exchange filter, targets, the table, the results."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench/ is a folder of the repository, not an installed package

from bench import cpu, docker_run, run, selfcheck, throughput
from bench.cpu import busy_of
from bench.docker_run import DockerRunFigures
from bench.exchange import SETTLE, ExchangeFigures, Trace, Variant, clean_round_trips
from bench.memory import MemoryPeak
from bench.run import Baseline, Target
from bench.selfcheck import SelfCheckFigures, SelfCheckTiming
from bench.startup import StartupFigures
from bench.stats import Summary, percentile, ratio, summarize
from bench.throughput import CheckTime, ClassTiming, make_copies, scaling
from grader.pipeline import default_jobs
from grader.sandbox.docker import DEFAULT_IMAGE

TEXTBOOK = ROOT / "tests" / "examples" / "textbook_complete"


# ------------------------------------------------------------------ statistics


def test_summary_of_an_odd_count_takes_the_middle_sample():
    assert summarize([3.0, 1.0, 2.0]) == Summary(count=3, median=2.0, p99=3.0, worst=3.0)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert summarize([4.0, 1.0, 3.0, 2.0]).median == 2.5


def test_p99_is_a_sample_by_nearest_rank():
    values = [float(v) for v in range(1, 201)]
    assert percentile(values, 99) == 198.0
    assert percentile(values, 100) == 200.0
    assert percentile([5.0], 99) == 5.0


@pytest.mark.parametrize("call", [lambda: summarize([]), lambda: percentile([], 50), lambda: percentile([1.0], 0)])
def test_no_samples_or_a_percent_out_of_range_is_an_error(call):
    with pytest.raises(ValueError):
        call()


def test_ratio_against_a_zero_baseline_is_none():
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None


# ------------------------------------------------------------------ CPU counters and commands


CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_busy_cpu_is_everything_but_idle_and_iowait_with_guest_time_counted_once():
    # /proc/stat's user already holds guest, and nice holds guest_nice.
    times = CpuTimes(
        user=10.0,
        nice=1.0,
        system=4.0,
        idle=100.0,
        iowait=3.0,
        irq=0.5,
        softirq=0.5,
        steal=1.0,
        guest=2.0,
        guest_nice=0.5,
    )
    assert busy_of(times) == pytest.approx(17.0)


def test_busy_cpu_reads_counters_without_iowait_or_guest_fields():
    Times = namedtuple("Times", "user system idle")
    assert busy_of(Times(user=3.0, system=1.0, idle=50.0)) == 4.0


def test_the_docker_run_baseline_is_the_cheapest_container_of_the_graders_image():
    assert docker_run.command(DEFAULT_IMAGE) == [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        DEFAULT_IMAGE,
        "python3",
        "-c",
        "1",
    ]


def test_the_self_check_is_readmes_command_with_grader_first_and_its_baseline_only_collects(tmp_path):
    check, collect = selfcheck.command(tmp_path), selfcheck.command(tmp_path, collect_only=True)
    assert Path(check[0]).name == "pytest"
    assert check[1:] == ["grader/", f"--submission={tmp_path}"]
    assert collect == [*check, "--collect-only"]


# ------------------------------------------------------------------ the exchange filter


US = 1e-6


def trace(sends: list[tuple[float, bool]], replies: list[float]) -> Trace:
    """Times in microseconds, as the exchanges are."""
    return Trace(tuple((at * US, untouched) for at, untouched in sends), tuple(at * US for at in replies))


def microseconds(trips: list[float]) -> list[float]:
    return [round(trip / US, 3) for trip in trips]


def test_round_trips_are_the_intervals_between_sends_with_one_reply_each():
    trips = clean_round_trips(trace([(0, True), (20, True), (50, True)], [10, 40]))
    assert microseconds(trips) == [20, 30]


def test_an_impaired_send_does_not_count():
    trips = clean_round_trips(trace([(0, False), (20, True), (50, True)], [10, 40]))
    assert microseconds(trips) == [30]


def test_an_interval_with_no_reply_or_two_replies_does_not_count():
    trips = clean_round_trips(trace([(0, True), (20, True), (40, True), (60, True)], [22, 24, 50]))
    assert microseconds(trips) == [20]


def test_the_last_send_has_no_interval():
    assert clean_round_trips(trace([(0, True)], [10])) == []


def test_the_exchanges_just_after_a_wait_do_not_count():
    waited = 5000  # a 5 ms gap: a timeout, say
    sends = [(0, True), (waited, True)] + [(waited + 20 * k, True) for k in range(1, SETTLE + 3)]
    replies = [10] + [waited + 20 * k - 10 for k in range(1, SETTLE + 3)]
    trips = clean_round_trips(trace(sends, replies))
    assert microseconds(trips) == [5000, 20, 20]  # a slow round trip counts; the SETTLE after it do not


# ------------------------------------------------------------------ throughput


def test_copies_are_numbered_students_without_the_examples_expectations(tmp_path):
    copies = make_copies(TEXTBOOK, tmp_path, 3)
    assert [c.name for c in copies] == ["student001", "student002", "student003"]
    for copy in copies:
        assert sorted(p.name for p in copy.iterdir()) == sorted(
            p.name for p in TEXTBOOK.iterdir() if p.name != "expected.toml"
        )


def test_full_marks_only_when_every_student_scored_100_percent(tmp_path):
    gradebook = tmp_path / "gradebook.csv"
    gradebook.write_text("student,score,max_score,percent\nstudent001,25,25,100.0\nstudent002,25,25,100.0\n")
    assert throughput.all_full_marks(gradebook, 2)
    assert not throughput.all_full_marks(gradebook, 3)
    gradebook.write_text("student,score,max_score,percent\nstudent001,24,25,96.0\n")
    assert not throughput.all_full_marks(gradebook, 1)


def grading(submissions: int, jobs: int, seconds: float, tree_mib: float = 200.0) -> ClassTiming:
    return ClassTiming(
        submissions,
        jobs,
        seconds,
        submissions / seconds * 60,
        seconds / submissions,
        5.0,
        1.5,
        20.0,
        True,
        MemoryPeak(40.0, tree_mib, jobs + 1, 100),
        (CheckTime("udp_client.first_request_lost", 6.5), CheckTime("udp_server.basic", 0.1)),
    )


def test_scaling_compares_seconds_per_submission_of_the_largest_and_smallest_size_at_each_job_count():
    gradings = [grading(10, 1, 300.0), grading(100, 1, 3300.0), grading(10, 4, 100.0), grading(100, 4, 800.0)]
    by_jobs = {s.jobs: s for s in scaling(gradings)}
    assert by_jobs[1].ratio == pytest.approx(1.1)
    assert by_jobs[4].ratio == pytest.approx(0.8)
    assert (by_jobs[4].smallest, by_jobs[4].largest) == (10, 100)


def test_one_size_has_no_scaling():
    assert scaling([grading(10, 1, 300.0)]) == []


def test_a_job_count_is_a_positive_number_or_the_graders_default():
    assert throughput.job_count("1") == 1
    assert throughput.job_count("default") == default_jobs()
    for bad in ("0", "-2", "many"):
        with pytest.raises(argparse.ArgumentTypeError):
            throughput.job_count(bad)


# ------------------------------------------------------------------ the table and the results file


def timing(name: str, check: float, collect_only: float = 0.5) -> SelfCheckTiming:
    return SelfCheckTiming(
        name, 3, Summary(3, check, check, check), Summary(3, collect_only, 0.6, 0.6), check / collect_only
    )


def results(
    gradings: list[ClassTiming],
    median_ratio: float = 1.2,
    docker_run_cpu: float = 1.2,
    selfchecks: tuple[float, float] = (2.5, 6.0),
) -> run.Results:
    bare = Summary(500, 20e-6, 80e-6, 200e-6)
    exchange = ExchangeFigures(
        500,
        20,
        (
            Variant("bare socket", bare, 1.0, 1.0),
            Variant("grader", Summary(500, 20e-6 * median_ratio, 90e-6, 300e-6), median_ratio, 90 / 80),
            Variant("grader + impairment", Summary(500, 26e-6, 95e-6, 300e-6), 1.3, 95 / 80),
        ),
    )
    startup = StartupFigures(
        20,
        Summary(20, 0.25, 0.3, 0.3),
        Summary(20, 0.03, 0.04, 0.04),
        0.25 / 0.03,
        Summary(20, 0.6, 0.7, 0.8),
        Summary(20, 0.03, 0.04, 0.04),
    )
    bare_run = DockerRunFigures(
        DEFAULT_IMAGE,
        20,
        Summary(20, docker_run_cpu, docker_run_cpu, docker_run_cpu),
        Summary(20, 0.28, 0.3, 0.3),
        Summary(20, 0.1, 0.2, 0.2),
    )
    checks = SelfCheckFigures(timing("reference", selfchecks[0]), timing("textbook_complete", selfchecks[1]))
    return run.Results(exchange, startup, bare_run, checks, gradings, scaling(gradings), default_jobs=4, cores=2)


# A figure of 6 s beside a baseline of 2 s: a ratio of 3.
def beside(measured: float | None, baseline: float | None, limit_ratio: float | None = 5.0, limit: float | None = None):
    return Target("figure", measured, limit, "s", baseline=Baseline("baseline", baseline, limit_ratio))


def test_a_target_against_a_baseline_is_met_within_its_ratio_and_missed_beyond_it():
    assert beside(6.0, 2.0).ratio == 3.0
    assert beside(6.0, 2.0).met is True
    assert beside(6.0, 2.0, limit_ratio=3.0).met is True  # at the limit is within it
    assert beside(6.0, 2.0, limit_ratio=2.5).met is False


def test_a_target_whose_figure_or_baseline_was_not_measured_is_not_judged():
    assert beside(None, 2.0).met is None and beside(None, 2.0).ratio is None
    assert beside(6.0, None).met is None and beside(6.0, None).ratio is None
    assert beside(6.0, 0.0).met is None  # no honest ratio against zero


def test_a_baseline_without_a_ratio_limit_is_shown_and_the_absolute_limit_alone_judges():
    assert beside(6.0, 2.0, limit_ratio=None, limit=7.0).met is True
    assert beside(6.0, 2.0, limit_ratio=None, limit=5.0).met is False
    assert beside(6.0, None, limit_ratio=None, limit=7.0).met is True


def test_a_target_with_both_limits_is_missed_when_either_is_and_met_only_when_both_are():
    assert beside(6.0, 2.0, limit_ratio=5.0, limit=7.0).met is True
    assert beside(6.0, 2.0, limit_ratio=2.0, limit=7.0).met is False
    assert beside(6.0, 2.0, limit_ratio=5.0, limit=5.0).met is False
    assert beside(6.0, None, limit_ratio=5.0, limit=5.0).met is False  # missed whatever the baseline says
    assert beside(6.0, None, limit_ratio=5.0, limit=7.0).met is None


def test_machine_cpu_per_submission_is_judged_against_five_bare_docker_runs():
    gradings = [grading(10, 4, 100.0), grading(30, 4, 280.0)]  # 5.0 s of machine CPU each
    cheap, dear = run.targets(results(gradings, docker_run_cpu=1.2)), run.targets(results(gradings, docker_run_cpu=0.5))
    assert cheap.machine_cpu.name == "machine CPU per submission, N=30"
    assert cheap.machine_cpu.ratio == pytest.approx(5.0 / 1.2)
    assert cheap.machine_cpu.met is True
    assert dear.machine_cpu.ratio == pytest.approx(10.0) and dear.machine_cpu.met is False


def test_machine_cpu_is_not_judged_without_a_grading_at_the_default_jobs():
    assert run.targets(results([grading(10, 1, 300.0)])).machine_cpu.met is None


def test_self_checks_are_judged_on_their_own_limits_beside_collect_only():
    goals = run.targets(results([], selfchecks=(2.5, 6.0)))
    assert (goals.selfcheck_reference.measured, goals.selfcheck_reference.met) == (2.5, True)
    assert (goals.selfcheck_textbook.measured, goals.selfcheck_textbook.met) == (6.0, False)
    assert goals.selfcheck_textbook.baseline == Baseline("--collect-only", 0.5)
    assert goals.selfcheck_textbook.ratio == pytest.approx(12.0)


def test_targets_are_judged_on_100_submissions_at_the_default_jobs():
    goals = run.targets(results([grading(100, 1, 3200.0), grading(100, 4, 50.0, tree_mib=320.0)], 1.6))
    assert (goals.throughput.measured, goals.throughput.met) == (50.0, True)
    assert goals.throughput.baseline == Baseline("--jobs 1", 3200.0)
    assert goals.exchange.measured == pytest.approx(32.0)  # µs, beside the bare socket's 20
    assert (goals.exchange.ratio, goals.exchange.met) == (pytest.approx(1.6), False)
    assert (goals.memory.measured, goals.memory.met) == (320.0, False)


def test_a_run_without_100_submissions_does_not_judge_those_targets():
    goals = run.targets(results([grading(10, 4, 100.0)]))
    assert goals.throughput.met is None and goals.memory.met is None
    assert goals.exchange.met is True


def render(table, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_the_table_shows_every_figure_with_its_baseline():
    text = render(run.build_table(results([grading(10, 1, 320.0), grading(10, 4, 100.0)])))
    assert "N=10, --jobs 4" in text and "--jobs 1: 320 s" in text and "3.20x faster" in text
    assert "udp_client.first_request_lost" in text
    assert "bare 20.0 µs" in text and "1.20x" in text
    assert "local process 30 ms" in text
    assert "200 MiB, 5 processes" in text
    assert "not measured" in text  # N=100 was left out
    assert "machine CPU per bare docker run" in text and "1.20 s" in text


def test_the_table_shows_each_new_target_beside_its_baseline_and_ratio():
    text = render(run.build_table(results([grading(10, 4, 100.0)], docker_run_cpu=0.5)))
    lines = text.splitlines()

    def row(name: str) -> str:
        return next(line for line in lines if name in line and "≤" in line)

    assert all(
        part in row("machine CPU per submission, N=10")
        for part in ("5.00 s", "bare docker run: 0.50 s", "10.00x", "≤ 5x baseline: missed")
    )
    assert all(
        part in row("self-check, reference") for part in ("2.50 s", "--collect-only: 0.50 s", "5.00x", "≤ 3 s: met")
    )
    assert all(part in row("self-check, textbook_complete") for part in ("6.00 s", "≤ 5 s: missed"))
    assert all(
        part in row("per-exchange round trip")
        for part in ("24.0 µs", "bare socket: 20.0 µs", "1.20x", "≤ 1.5x baseline: met")
    )
    assert "textbook_complete" in text and "--collect-only 0.50 s" in text  # the self-check section


def test_the_table_fits_a_log_of_160_columns_without_folding_a_target():
    text = render(run.build_table(results([grading(100, 4, 50.0)], docker_run_cpu=0.5)), width=160)
    for verdict in ("≤ 5x baseline: missed", "≤ 1.5x baseline: met", "≤ 300 MiB: met", "≤ 5 s: missed"):
        assert verdict in text


def test_results_are_written_with_a_timestamp_and_as_latest(tmp_path):
    document = run.to_json(
        results([grading(10, 4, 100.0)]), {"sizes": [10]}, started=0.0, seconds=12.0, load_before=0.5
    )
    path = run.write_results(document, tmp_path)
    assert path.name == "19700101T000000Z.json"
    assert json.loads(path.read_text()) == json.loads((tmp_path / "latest.json").read_text())
    written = json.loads(path.read_text())
    assert written["targets"]["exchange"]["met"] is True
    cpu = written["targets"]["machine_cpu"]
    assert cpu["baseline"] == {"name": "bare docker run", "value": 1.2, "limit_ratio": 5.0}
    assert cpu["ratio"] == pytest.approx(5.0 / 1.2) and cpu["met"] is True
    assert written["targets"]["selfcheck_reference"]["limit"] == 3.0
    assert written["docker_run"]["image"] == DEFAULT_IMAGE
    assert written["selfcheck"]["textbook"]["check"]["median"] == 6.0
    assert written["throughput"][0]["memory"]["tree_mib"] == 200.0


# A child that leaves a grandchild behind, which burns CPU after the child has ended (as the
# grader's fork server does after the grader).
LEAVES_A_WORKER = """
import os, time
if os.fork() == 0:
    time.sleep(0.2)
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    os._exit(0)
"""


def test_the_cpu_time_of_a_process_a_child_left_behind_is_counted_once_it_ends():
    before = cpu.children_cpu_seconds()
    with cpu.adopting_orphans():
        subprocess.run([sys.executable, "-c", LEAVES_A_WORKER], check=True)
    assert cpu.children_cpu_seconds() - before >= 0.3
