"""Self-check figure: the wall time of the command students run, against its collection alone.

    python -m bench.selfcheck [--runs 5]

The command is README's, `pytest grader/ --submission=DIR`, run from the repository root with
this virtualenv's pytest and nothing else: default settings, so `--sandbox auto` picks Docker
when it runs (as `make bench` makes sure it does). Two submissions: reference/ (ours) and a copy
of tests/examples/textbook_complete without the example's expected.toml (what a student who
typed in the textbook has). Each is timed from the start of the command to its exit.

The baseline is the same command with `--collect-only`: pytest's start-up, the grader's plugin
and the collection of every check, the floor no self-check goes under; the difference is the
grading itself. Checks and collections alternate, so a busy moment of the machine hits both,
and each figure is the median of the runs. A check that does not exit with 0 fails the bench:
a self-check that fails a correct submission measured something else.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Summary, ratio, summarize
from bench.throughput import TEXTBOOK, make_copies

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference"
RUN_TIMEOUT = 300.0  # seconds; a self-check of a correct submission that takes longer is broken


@dataclass(frozen=True)
class SelfCheckTiming:
    submission: str  # the folder's name
    runs: int
    check: Summary  # wall seconds of the self-check
    collect_only: Summary  # wall seconds of the same command with --collect-only
    median_ratio: float | None


@dataclass(frozen=True)
class SelfCheckFigures:
    reference: SelfCheckTiming
    textbook: SelfCheckTiming


def command(submission: Path, collect_only: bool = False) -> list[str]:
    pytest = Path(sys.executable).with_name("pytest")  # the console script of this virtualenv
    if not pytest.is_file():
        raise RuntimeError(f"{pytest} is missing: run `make venv` first")
    return [str(pytest), "grader/", f"--submission={submission}", *(["--collect-only"] if collect_only else [])]


def timed(arguments: list[str]) -> float:
    """Wall seconds of one run from the repository root; RuntimeError when it does not exit with 0."""
    started = time.monotonic()
    completed = subprocess.run(
        arguments, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT, check=False
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        output = completed.stdout.decode(errors="replace")[-2000:]
        raise RuntimeError(f"`{' '.join(arguments)}` exited with {completed.returncode}:\n{output}")
    return seconds


def time_submission(submission: Path, runs: int) -> SelfCheckTiming:
    checks, collections = [], []
    for _ in range(runs):
        checks.append(timed(command(submission)))
        collections.append(timed(command(submission, collect_only=True)))
    check, collect_only = summarize(checks), summarize(collections)
    return SelfCheckTiming(submission.name, runs, check, collect_only, ratio(check.median, collect_only.median))


def measure(runs: int) -> SelfCheckFigures:
    with tempfile.TemporaryDirectory(prefix="socketlab-selfcheck-") as folder:
        (textbook,) = make_copies(TEXTBOOK, Path(folder), 1)
        textbook = textbook.rename(textbook.with_name(TEXTBOOK.name))
        return SelfCheckFigures(time_submission(REFERENCE, runs), time_submission(textbook, runs))


def describe(timing: SelfCheckTiming) -> str:
    return (
        f"{timing.submission}: self-check median {timing.check.median:.2f} s (worst {timing.check.worst:.2f} s), "
        f"--collect-only {timing.collect_only.median:.2f} s ({timing.runs} runs)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    figures = measure(args.runs)
    for timing in (figures.reference, figures.textbook):
        print(describe(timing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
