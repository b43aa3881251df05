"""Grade submissions whose verdicts are known while the machine is loaded, and count the flips.

The load is what a shared grading machine or CI runner sees: a busy loop on every core, a
disk writer, and another grading of the hostile corpus (fork, memory and output bombs) on
the same Docker engine. The subjects are correct programs (copies of the textbook's, the
reference) and examples whose expected verdicts are timing-sensitive (a slow server, a
client that retries, a hung client). A flip is any check whose status differs from what its
expected verdict says; a fair grader shows none, however busy the machine. A check the
grader could not run (the engine too busy to answer, twice) is counted apart: it is a grader
error, graded again on the next run, never a grade.

Used by `tests/stress/test_fair_under_load.py` (one round in the suite) and by hand for
the figures of many rounds (`python tests/stress/harness.py --rounds 10`; `--grader-path
DIR` grades with the grader package in DIR instead, e.g. an older commit, to compare).
Everything it starts is stopped when its round ends, and every wait is bounded.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "examples"
CORPUS = ROOT / "tests" / "hostile" / "corpus"
GRADER = Path(sys.executable).with_name("grader")
TEXTBOOK_COPIES = 4
TIMING_EXAMPLES = (
    "slow_udp_server",
    "retry_udp_client",
    "hanging_tcp_client",
    "threaded_tcp_server",
    "socketserver_udp_server",
    "asyncio_tcp_server",
)
# The load's grading is of programs that only make a machine busy; one that probes the
# network has nothing to probe here.
LOAD_PROGRAMS = (
    "output_flood",
    "fork_bomb",
    "memory_bomb",
    "cpu_spin",
    "datagram_flood",
    "disk_fill",
    "many_sockets",
    "sends_endlessly",
    "daemon",
)
ROUND_LIMIT = 900.0  # seconds for the subjects' grading, under any load
DISK_CHUNK = 8 << 20
DISK_FILE_LIMIT = 256 << 20


def _corpus_verdicts():
    spec = importlib.util.spec_from_file_location("corpus_verdicts", ROOT / "tests" / "hostile" / "corpus_verdicts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Subject:
    name: str
    expect: dict[str, bool]  # check id -> passes
    full_marks: bool


@dataclass
class RoundResult:
    took: float
    flips: list[str]
    load_gradings: int  # hostile gradings that ran beside the subjects
    errors: list[str] = field(default_factory=list)  # checks the grader could not run: no grade, graded again
    summary: str = ""  # the grader's own last lines (what it says about throttling)
    problems: list[str] = field(default_factory=list)  # anything that kept the round from counting


def build_subjects(root: Path) -> list[Subject]:
    """The subjects' folders under `root`, and what each must score."""
    subjects = []
    textbook = EXAMPLES / "textbook_complete"
    expect = _expectations(textbook)
    for i in range(1, TEXTBOOK_COPIES + 1):
        shutil.copytree(textbook, root / f"textbook_{i}", ignore=shutil.ignore_patterns("expected.toml"))
        subjects.append(Subject(f"textbook_{i}", expect, True))
    shutil.copytree(ROOT / "reference", root / "reference", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subjects.append(Subject("reference", {}, True))
    for name in TIMING_EXAMPLES:
        shutil.copytree(EXAMPLES / name, root / name, ignore=shutil.ignore_patterns("expected.toml"))
        subjects.append(Subject(name, _expectations(EXAMPLES / name), False))
    return subjects


def _expectations(example: Path) -> dict[str, bool]:
    expect = tomllib.loads((example / "expected.toml").read_text())["expect"]
    return {check_id: outcome == "pass" for check_id, outcome in expect.items()}


def build_load_class(root: Path) -> None:
    verdicts = _corpus_verdicts()
    for name in LOAD_PROGRAMS:
        expected = verdicts.read_expected(CORPUS / f"{name}.py")
        (root / name).mkdir(parents=True)
        shutil.copy(CORPUS / f"{name}.py", root / name / expected.file_name)


def flips(subjects: list[Subject], gradebook: Path) -> tuple[list[str], list[str]]:
    """(verdicts that differ from the expected ones, checks or students the grader could not grade)."""
    from grader import junit

    reports = {r.student: r for r in map(junit.report, junit.read_suites(gradebook))}
    found, errors = [], []
    for subject in subjects:
        report = reports.get(subject.name)
        if report is None or report.grader_error is not None:
            errors.append(f"{subject.name}: not graded ({report and report.grader_error})")
            continue
        checks = {c.check_id: c for c in report.checks}
        errors += [f"{subject.name}: {c.check_id}: {c.summary}" for c in report.checks if c.status == "error"]
        for check_id, passes in subject.expect.items():
            check = checks.get(check_id)
            if check is not None and check.status == "error":
                continue
            if check is None or check.passed != passes:
                found.append(
                    f"{subject.name}: {check_id} {check.status if check else 'not graded'}, expected "
                    f"{'pass' if passes else 'fail'}" + (f" ({check.summary})" if check else "")
                )
        lost = [c for c in report.failures if c.status != "error"]
        if subject.full_marks and lost:
            found.append(
                f"{subject.name}: {report.score:g}/{report.max_score:g}: "
                + "; ".join(f"{c.check_id}: {c.summary}" for c in lost)
            )
    return found, errors


class Load:
    """CPU hogs on every core, a disk writer and hostile gradings, all stopped by `stop()` (or by their own end)."""

    def __init__(self, workdir: Path, grader: list[str], env: dict[str, str], seconds: float):
        self.workdir, self.grader, self.env = workdir, grader, env
        self.until = time.monotonic() + seconds
        self.hostile_class = workdir / "load-class"
        if not self.hostile_class.is_dir():
            build_load_class(self.hostile_class)
        code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
        self.hogs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]
        self.disk = subprocess.Popen([sys.executable, "-c", _disk_writer(workdir / "disk-load.bin", seconds)])
        self.gradings = 0
        self.hostile: subprocess.Popen | None = None
        self.keep_grading()

    def keep_grading(self) -> None:
        """A new hostile grading whenever the last one ended, until the load's time is up."""
        if (self.hostile is not None and self.hostile.poll() is None) or time.monotonic() >= self.until:
            return
        self.gradings += 1
        out = self.workdir / f"load-reports-{self.gradings}"
        self.hostile = subprocess.Popen(
            [*self.grader, "grade", str(self.hostile_class), "--out", str(out), "--force", "--sandbox", "docker"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        for process in [*self.hogs, self.disk]:
            process.kill()
        if self.hostile is not None and self.hostile.poll() is None:
            self.hostile.send_signal(2)  # like Ctrl-C: the grading removes its containers
            try:
                self.hostile.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.hostile.kill()
        for process in [*self.hogs, self.disk]:
            process.wait(timeout=30)
        (self.workdir / "disk-load.bin").unlink(missing_ok=True)


def _disk_writer(path: Path, seconds: float) -> str:
    return (
        f"import os, time\nend = time.monotonic() + {seconds}\nchunk = os.urandom({DISK_CHUNK})\n"
        f"while time.monotonic() < end:\n"
        f"    with open({str(path)!r}, 'wb') as f:\n"
        f"        while f.tell() < {DISK_FILE_LIMIT} and time.monotonic() < end:\n"
        f"            f.write(chunk); f.flush(); os.fsync(f.fileno())\n"
    )


def run_round(
    workdir: Path, subjects: list[Subject], classroom: Path, grader: list[str], env: dict[str, str], loaded: bool = True
) -> RoundResult:
    out = workdir / "reports"
    shutil.rmtree(out, ignore_errors=True)
    load = Load(workdir, grader, env, ROUND_LIMIT) if loaded else None
    started = time.monotonic()
    try:
        if load is not None:
            time.sleep(5)  # the load gets going before the first subject starts
        process = subprocess.Popen(
            [*grader, "grade", str(classroom), "--out", str(out), "--force", "--sandbox", "docker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = ""
        while process.poll() is None and time.monotonic() - started < ROUND_LIMIT:
            if load is not None:
                load.keep_grading()
            time.sleep(1)
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=60)[0]
    finally:
        if load is not None:
            load.stop()
    took = time.monotonic() - started
    problems = [] if process.returncode == 0 else [f"grader grade exited {process.returncode}: {output[-2000:]}"]
    found, errors = flips(subjects, out / "gradebook.xml") if (out / "gradebook.xml").is_file() else ([], [])
    if not (out / "gradebook.xml").is_file():
        problems.append("no gradebook")
    return RoundResult(took, found, load.gradings if load else 0, errors, "\n".join(output.splitlines()[-4:]), problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--grader-path",
        type=Path,
        default=None,
        help="a folder holding another `grader` package to grade with (e.g. an older commit)",
    )
    parser.add_argument("--no-load", action="store_true", help="the same rounds on a quiet machine")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(os.environ.get("TMPDIR", "/tmp")) / f"stress-{os.getpid()}"
    classroom = workdir / "class"
    shutil.rmtree(workdir, ignore_errors=True)
    classroom.mkdir(parents=True)
    subjects = build_subjects(classroom)
    env = dict(os.environ)
    if args.grader_path is not None:
        env["PYTHONPATH"] = str(args.grader_path.resolve())
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the entry point would load this checkout's plugin too
    total_flips, rounds_with_flips, total_errors = 0, 0, 0
    for number in range(1, args.rounds + 1):
        result = run_round(workdir, subjects, classroom, [str(GRADER)], env, loaded=not args.no_load)
        total_flips += len(result.flips)
        total_errors += len(result.errors)
        rounds_with_flips += bool(result.flips)
        print(
            f"round {number}: {result.took:.0f} s, {len(result.flips)} flip(s), {len(result.errors)} grader "
            f"error(s), {result.load_gradings} hostile grading(s) beside it",
            flush=True,
        )
        for line in result.flips + [f"grader error: {e}" for e in result.errors] + result.problems:
            print(f"    {line}", flush=True)
        for line in result.summary.splitlines():
            print(f"    | {line}", flush=True)
    print(
        f"{args.rounds} round(s), {len(subjects)} subjects each: {total_flips} flip(s) "
        f"in {rounds_with_flips} round(s), {total_errors} grader error(s)"
    )
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
