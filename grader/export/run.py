"""The entry point on a platform: grade the one submission of its layout, write its results, exit 0.

`python -m grader.export.run PLATFORM --root ROOT --assignment FILE [--time-limit S]`, started
by the platform's own script (run_autograder, the PrairieLearn entry point, the Autolab
Makefile, the Classroom workflow). As root it first closes the grader's files and the
results folder to every other user; student programs then run as the unprivileged user
(SOCKETLAB_STUDENT_USER, made at set-up) with the local sandbox's limits, so nothing they
do reaches the results. Whatever goes wrong after the arguments are read, the platform gets
a results file saying so and the status is 0: PrairieLearn ignores the results of a
failed entry point, and a grader error must never read as a student's zero.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader import gradebook, junit, pipeline
from grader.export import PLATFORMS, formats
from grader.model import StudentReport
from grader.roster import Entry
from grader.sandbox import SandboxError, local
from grader.scratch import scratch_dir
from grader.spec import Assignment, SpecError, load_assignment

STUDENT = "submission"  # the one student of a platform's grading: their name is the platform's business


@dataclass(frozen=True)
class Layout:
    """Where a platform puts the submission and wants the results; `results` None: the last line of stdout."""

    submission: Path
    results: Path | None
    private: tuple[Path, ...] = ()  # the grader's own files: closed to every other user


def layout(platform: str, root: Path) -> Layout:
    if platform == "gradescope":
        return Layout(root / "submission", root / "results" / "results.json", (root / "source",))
    if platform == "prairielearn":
        return Layout(
            root / "student",
            root / "results" / "results.json",
            (root / "tests", root / "serverFilesCourse", root / "data"),
        )
    if platform == "autolab":
        return Layout(root / "handin.zip", None, (root / "autograde",))
    if platform == "classroom":
        return Layout(root, root / "socketlab-reports" / "results.json")
    raise ValueError(f"unknown platform {platform!r}; one of {', '.join(PLATFORMS)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.export.run",
        description="Grade the submission of a platform's layout; write its results.",
    )
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--root", type=Path, required=True, help="the platform's root (/autograder, /grade, ...)")
    parser.add_argument("--assignment", default="uppercase", help="assignment name or .toml path")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds for the whole grading")
    args = parser.parse_args(argv)
    where = layout(args.platform, args.root)
    started = time.monotonic()
    local.close_to_others()
    with scratch_dir("platform") as out:
        try:
            close_grader_files(where)
        except OSError as exc:  # unprotected, student programs must not run at all
            graded = Graded(
                _error_report(f"cannot close the grader's files to student programs: {exc}", None), formats.Catalog()
            )
        else:
            graded = grade_safely(where.submission, args.assignment, args.time_limit, Path(out))
        write_results(args.platform, where, graded, time.monotonic() - started)
    return 0


def close_grader_files(where: Layout) -> None:
    """The grader's files, the original submission and the results folder: no other user may change or read them.

    Student programs run as another user and see a copy of the submission, so 0700 takes
    nothing from them; a folder that is a symlink is left alone (chmod would follow it).
    """
    for folder in (*where.private, where.submission):
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(0o700)
    if where.results is not None:
        where.results.parent.mkdir(parents=True, exist_ok=True)
        where.results.parent.chmod(0o755)


@dataclass(frozen=True)
class Graded:
    report: StudentReport
    catalog: formats.Catalog
    suite_file: Path | None = None  # the JUnit report, where the grading got that far


def grade_safely(submission: Path, assignment_name: str, timeout: float | None, out: Path) -> Graded:
    """The student's report, or a grader error's report naming what went wrong."""
    try:
        assignment = load_assignment(assignment_name)
    except SpecError as exc:
        return Graded(_error_report(f"the assignment cannot be read: {exc}", None), formats.Catalog())
    catalog = formats.Catalog.of(assignment)
    if not submission.exists() or (submission.is_dir() and not any(submission.iterdir())):
        # Nothing was handed in for this job: the platform's fault or an empty hand-in, not
        # a grade; graded as a submission error, it would read as the student's zero.
        return Graded(_error_report(f"no student files in {submission.name}/", assignment), catalog)
    try:
        local.student_user()  # a set-up's account that is missing must stop the grading, not fall back
        settings = pipeline.Settings(
            assignment, "local", assignment.seed, jobs=1, timeout=timeout, environment="local", force=True
        )
        outcome = pipeline.grade([Entry(STUDENT, submission)], settings, out, lambda graded: None)
    except (SandboxError, OSError) as exc:
        return Graded(_error_report(str(exc), assignment), catalog)
    if not outcome.graded:
        return Graded(_error_report("the grading was interrupted", assignment), catalog)
    return Graded(outcome.graded[0].report, catalog, out / "junit" / f"{STUDENT}.xml")


def _error_report(message: str, assignment: Assignment | None) -> StudentReport:
    properties = (
        {}
        if assignment is None
        else {
            "assignment": assignment.name,
            "max_score": f"{assignment.max_points:g}",
            "checks": " ".join(c.id for c in assignment.checks),
        }
    )
    print(f"grader: error: {' '.join(message.split())}", file=sys.stderr)
    return junit.report(junit.error_suite(STUDENT, message, properties))


def write_results(platform: str, where: Layout, graded: Graded, seconds: float) -> None:
    report, catalog = graded.report, graded.catalog
    if platform == "autolab":
        # What Autolab shows the student is the output; the last line is the scores.
        print(gradebook.feedback(report))
        print(json.dumps(formats.autolab_scores(report, catalog)), flush=True)
        return
    assert where.results is not None  # every platform but Autolab has a results file
    if platform == "gradescope":
        results = formats.gradescope(report, seconds, catalog)
    elif platform == "prairielearn":
        results = formats.prairielearn(report, catalog)
    else:
        results = formats.classroom(report, catalog)
        _write_classroom_reports(where.results.parent, report, graded.suite_file, results)
    _write_atomically(where.results, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(formats.summary_text(report))


def _write_classroom_reports(folder: Path, report: StudentReport, suite_file: Path | None, results: dict) -> None:
    """The JUnit and the feedback for the workflow's artifacts; the reporter's `result` output."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feedback.md").write_text(gradebook.feedback(report), encoding="utf-8")
    if suite_file is not None and suite_file.is_file():
        shutil.copyfile(suite_file, folder / "junit.xml")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        encoded = base64.b64encode(json.dumps(results).encode()).decode()
        with open(output, "a", encoding="utf-8") as file:
            file.write(f"result={encoded}\n")


def _write_atomically(path: Path, text: str) -> None:
    """A new file renamed over the old one: a results.json that was there (planted, or stale) never survives."""
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".results-", delete=False)
    with handle:
        handle.write(text)
    os.chmod(handle.name, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(handle.name, path)


if __name__ == "__main__":
    sys.exit(main())
