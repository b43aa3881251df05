"""Grades back to the LMS: the files its grade import takes, from the class's reports. Pure: reports in, text out.

- Canvas gradebook import: `Student,ID,SIS User ID,SIS Login ID,Section,<title> (<id>)`, then
  a `    Points Possible` row, then one row per student Canvas knows by id. The title and
  the assignment id are the instructor's (Canvas matches the column by them).
- Moodle grading worksheet ("Upload grading worksheet"): `Identifier` (`Participant <id>`),
  `Grade`, `Last modified (grade)` (Moodle's importer requires the column) and `Feedback comments`.
- A plain CSV keyed by login (GitHub Classroom, or any roster), with the comment.

A student the file cannot name (no LMS id: a plain folder, Canvas's anonymous grading) is
never guessed: they are listed in `missing` for the instructor to enter by hand. So is a
student the grader could not grade (a grader error): their cell is left out, not zeroed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from grader import report_notes
from grader.model import StudentReport
from grader.names import csv_cell, shown
from grader.report import points_word, root_causes

FORMATS = ("canvas", "moodle", "csv")
MAX_COMMENT_CHARS = 1000  # an LMS comment field; the whole story is in the feedback file
_CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_POINTS_POSSIBLE = "    Points Possible"  # Canvas's own spelling, leading spaces included
_MOODLE_HEADER = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"]


@dataclass(frozen=True)
class HandBack:
    text: str  # the file, as the LMS imports it
    missing: list[str]  # "student: why" for each student not in it


def comment(report: StudentReport) -> str:
    """Score and what failed, once per cause, short enough for an LMS comment field."""
    if report.grader_error is not None:
        return "Not graded yet: the grader could not grade this submission; it is graded again on its next run."
    problem = report_notes.submission_error(report)
    if problem:
        text = f"Score {report.score:g}/{report.max_score:g}. Not graded as handed in: {problem}"
    else:
        percent = "" if report.percent is None else f" ({report.percent:.0f} %)"
        causes = [f"{c.line()} ({points_word(c.lost)})" for c in root_causes(report.failures)]
        failed = f" What cost points: {'; '.join(causes)}." if causes else " Every required check passed."
        text = f"Score {report.score:g}/{report.max_score:g}{percent}.{failed}"
    return shown(" ".join(text.split()), MAX_COMMENT_CHARS)


def canvas_csv(reports: Iterable[StudentReport], title: str, assignment_id: str) -> HandBack:
    reports = list(reports)
    known, missing = _nameable(reports, "canvas", "no Canvas user id (not from a Canvas download, or anonymous)")
    rows = [
        [csv_cell(r.properties.get("lms_name", "")), r.properties["lms_id"], "", "", "", f"{r.score:g}"] for r in known
    ]
    points = max((r.max_score for r in reports), default=0.0)
    return HandBack(
        _csv(
            [
                [*_CANVAS_FIXED, csv_cell(f"{title} ({assignment_id})")],
                [_POINTS_POSSIBLE, "", "", "", "", f"{points:g}"],
                *rows,
            ]
        ),
        missing,
    )


def moodle_worksheet(reports: Iterable[StudentReport]) -> HandBack:
    known, missing = _nameable(reports, "moodle", "no Moodle participant id (not from a Moodle download)")
    rows = [
        [
            f"Participant {r.properties['lms_id']}",
            csv_cell(r.properties.get("lms_name", "")),
            f"{r.score:g}",
            f"{r.max_score:g}",
            "",
            csv_cell(comment(r)),
        ]
        for r in known
    ]
    return HandBack(_csv([_MOODLE_HEADER, *rows]), missing)


def _nameable(reports: Iterable[StudentReport], layout: str, unnamed: str) -> tuple[list[StudentReport], list[str]]:
    """The graded students this LMS knows by id, and "student: why" for each of the others."""
    known, missing = [], []
    for report in reports:
        if report.properties.get("lms") != layout or not report.properties.get("lms_id"):
            missing.append(f"{report.student}: {unnamed}")
        elif report.grader_error is not None:
            missing.append(f"{report.student}: not graded (grader error)")
        else:
            known.append(report)
    return known, missing


def plain_csv(reports: Iterable[StudentReport]) -> HandBack:
    rows = []
    for report in reports:
        p = report.properties
        score = "" if report.grader_error is not None else f"{report.score:g}"
        percent = "" if report.grader_error is not None or report.percent is None else f"{report.percent:.1f}"
        rows.append(
            [
                csv_cell(p.get("lms_login") or report.student),
                csv_cell(p.get("lms_name", "")),
                csv_cell(p.get("lms_id", "")),
                score,
                f"{report.max_score:g}",
                percent,
                csv_cell(comment(report)),
            ]
        )
    return HandBack(_csv([["login", "name", "lms_id", "score", "max_score", "percent", "comment"], *rows]), [])


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
