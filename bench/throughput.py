"""Throughput figure: N copies of a correct textbook submission graded by `grader grade`.

    python -m bench.throughput [--sizes 10 30 100] [--jobs 1 default]

Each grading copies tests/examples/textbook_complete (all four roles) N times, as
student001, student002, ..., into a temporary folder and runs
`grader grade DIR --out FRESH --jobs J --force --sandbox docker` with the full `uppercase`
assignment, timed by the wall clock from start to exit. Alongside:

- the machine's busy CPU time during the grading (every process psutil.cpu_times counts:
  the grader, dockerd, containerd, the student containers, and anything else this machine
  runs meanwhile), per submission: it bounds how many gradings the cores can carry; and
  the part of it the grader's own processes used (`grader grade` and its pytest
  processes, from getrusage of the children this bench waited for);
- the grader's peak memory (bench.memory);
- the containers the grading started, per submission, from Docker's event log;
- whether every copy scored 100 %: a grading that fails a correct submission measured
  something else, and the table says so;
- the time of each check of the first student, from its JUnit report: where one
  submission's time goes.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from bench.cpu import adopting_orphans, busy_cpu_seconds, children_cpu_seconds
from bench.memory import MemoryPeak, MemorySampler
from bench.stats import ratio
from grader.junit import read_suites
from grader.pipeline import default_jobs
from grader.sandbox.docker import LABEL, OWNER_LABEL, engine_client

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "tests" / "examples" / "textbook_complete"
NOT_SUBMITTED = ("expected.toml",)  # the example's test expectations, which no student hands in
SECONDS_PER_SUBMISSION_LIMIT = 600.0  # a grading slower than this per submission and job is stopped
STOP_GRACE = 60.0  # seconds the grader gets to remove its containers after an interrupt


@dataclass(frozen=True)
class CheckTime:
    check: str
    seconds: float


@dataclass(frozen=True)
class ClassTiming:
    submissions: int
    jobs: int
    seconds: float
    submissions_per_minute: float
    seconds_per_submission: float
    cpu_seconds_per_submission: float  # machine-wide busy CPU time, divided by the submissions
    grader_cpu_seconds_per_submission: float  # the part of it in grader grade and its pytest processes
    containers_per_submission: float
    all_full_marks: bool
    memory: MemoryPeak
    first_student_checks: tuple[CheckTime, ...]  # slowest first


@dataclass(frozen=True)
class Scaling:
    """Seconds per submission at the largest N against the smallest, at one job count; 1.0 is linear."""

    jobs: int
    smallest: int
    largest: int
    smallest_seconds_each: float
    largest_seconds_each: float
    ratio: float | None


class ContainerStarts:
    """Counts the containers started while it is open, by owner, from Docker's live event stream.

    Live, because the daemon replays only its last few hundred events: a query after a
    grading of 100 submissions would find most of its starts gone.
    """

    def __init__(self) -> None:
        self._client = engine_client()
        # Subscribed here, before the grading starts, so no start is missed.
        self._events = self._client.events(decode=True, filters={"type": "container", "event": "start", "label": LABEL})
        self._by_owner: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._count, name="container-starts", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._events.close()  # ends the loop in _count
        self._thread.join(timeout=10)
        self._client.close()

    def by(self, pids: Collection[int]) -> int:
        """Starts by containers whose owner label names one of `pids` on this host."""
        host = socket.gethostname()
        return sum(self._by_owner[f"{host}:{pid}"] for pid in pids)

    def _count(self) -> None:
        for event in self._events:
            self._by_owner[event["Actor"]["Attributes"].get(OWNER_LABEL, "")] += 1


def student_name(number: int) -> str:
    return f"student{number:03d}"


def make_copies(source: Path, folder: Path, count: int) -> list[Path]:
    """`count` copies of the submission `source` in `folder`, as student001, student002, ..."""
    copies = [folder / student_name(number) for number in range(1, count + 1)]
    for copy in copies:
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*NOT_SUBMITTED))
    return copies


def grader_command(submissions: Path, out: Path, jobs: int) -> list[str]:
    grader = Path(sys.executable).with_name("grader")  # the console script of this virtualenv
    if not grader.is_file():
        raise RuntimeError(f"{grader} is missing: run `make venv` first")
    # --sandbox docker, never auto: a machine without Docker must fail the bench, not grade locally.
    return [
        str(grader),
        "grade",
        str(submissions),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--force",
        "--sandbox",
        "docker",
    ]


def all_full_marks(gradebook_csv: Path, students: int) -> bool:
    with gradebook_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return len(rows) == students and all(row["percent"] == "100.0" for row in rows)


def check_times(junit_file: Path) -> tuple[CheckTime, ...]:
    times = [CheckTime(case.name, float(case.time or 0.0)) for suite in read_suites(junit_file) for case in suite]
    return tuple(sorted(times, key=lambda t: t.seconds, reverse=True))


def grade_copies(count: int, jobs: int, scratch: Path) -> ClassTiming:
    submissions = scratch / f"submissions-{count}"
    if not submissions.exists():
        make_copies(TEXTBOOK, submissions, count)
    out = Path(tempfile.mkdtemp(prefix=f"reports-{count}x{jobs}-", dir=scratch))
    limit = SECONDS_PER_SUBMISSION_LIMIT * -(-count // jobs)
    with ContainerStarts() as starts, (out / "grader.log").open("wb") as log:
        busy_before, grader_before = busy_cpu_seconds(), children_cpu_seconds()
        started = time.monotonic()
        with adopting_orphans():
            process = subprocess.Popen(
                grader_command(submissions, out, jobs), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            with MemorySampler(process.pid) as sampler:
                returncode = _wait(process, limit)
            seconds = time.monotonic() - started
        cpu_seconds, grader_cpu_seconds = busy_cpu_seconds() - busy_before, children_cpu_seconds() - grader_before
    if returncode != 0:
        tail = (out / "grader.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"grader grade exited with {returncode} for {count} submissions at --jobs {jobs}:\n{tail}")
    containers = starts.by(sampler.pids_seen())
    return ClassTiming(
        count,
        jobs,
        seconds,
        count / seconds * 60,
        seconds / count,
        cpu_seconds / count,
        grader_cpu_seconds / count,
        containers / count,
        all_full_marks(out / "gradebook.csv", count),
        sampler.peak(),
        check_times(out / "junit" / f"{student_name(1)}.xml"),
    )


def _wait(process: subprocess.Popen, limit: float) -> int:
    """The exit status; at `limit` the grader is interrupted as Ctrl-C would, so it removes its containers."""
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise RuntimeError(f"grader grade took longer than {limit:.0f} s and was stopped") from None


def measure(sizes: Sequence[int], job_counts: Sequence[int]) -> Iterator[ClassTiming]:
    """Every size at every job count, each as it is done; smallest first, so a broken set-up fails in minutes."""
    with tempfile.TemporaryDirectory(prefix="socketlab-bench-") as folder:
        for count, jobs in itertools.product(sorted(sizes), job_counts):
            yield grade_copies(count, jobs, Path(folder))


def scaling(gradings: Sequence[ClassTiming]) -> list[Scaling]:
    result = []
    for jobs in sorted({g.jobs for g in gradings}):
        at_jobs = sorted((g for g in gradings if g.jobs == jobs), key=lambda g: g.submissions)
        smallest, largest = at_jobs[0], at_jobs[-1]
        if smallest.submissions != largest.submissions:
            result.append(
                Scaling(
                    jobs,
                    smallest.submissions,
                    largest.submissions,
                    smallest.seconds_per_submission,
                    largest.seconds_per_submission,
                    ratio(largest.seconds_per_submission, smallest.seconds_per_submission),
                )
            )
    return result


def describe(grading: ClassTiming) -> str:
    return (
        f"N={grading.submissions} at --jobs {grading.jobs}: {grading.seconds:.1f} s, "
        f"{grading.submissions_per_minute:.1f}/min, {grading.seconds_per_submission:.2f} s each, "
        f"machine CPU {grading.cpu_seconds_per_submission:.2f} s each "
        f"(grader {grading.grader_cpu_seconds_per_submission:.2f} s), "
        f"{grading.containers_per_submission:.1f} containers each, all 100 %: {grading.all_full_marks}, "
        f"memory {grading.memory.parent_mib:.0f} MiB (tree {grading.memory.tree_mib:.0f} MiB)"
    )


def job_count(text: str) -> int:
    """For argparse: a whole number of at least 1, or `default` for what `grader grade` picks on this machine."""
    if text == "default":
        return default_jobs()
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number of at least 1 nor `default`")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--jobs", type=job_count, nargs="+", default=[1, default_jobs()])
    args = parser.parse_args()
    for grading in measure(args.sizes, list(dict.fromkeys(args.jobs))):
        print(describe(grading), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
