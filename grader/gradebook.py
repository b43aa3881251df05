"""The class's reports, all derived from the per-student JUnit suites.

`<out>/gradebook.xml`, `gradebook.csv`, `feedback/<student>.md`, `results/<student>.json`
(Gradescope's results.json shape) and the pages of `html/` (`index.html` for the class,
`<student>.html` each, from grader.html_report) come from the same suites, so a report
written by `grader grade` and one rebuilt by `grader merge` are the same.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from junitparser import TestSuite

from grader import html_report, junit, report_notes
from grader.model import CheckResult, Status, StudentReport
from grader.names import csv_cell, markdown_code, markdown_text, terminal_text
from grader.report import CauseList, RootCause, format_result, points_text, points_word, score_line

GRADEBOOK_NAME = "socket-lab gradebook"
GRADEBOOK_XML, GRADEBOOK_CSV = "gradebook.xml", "gradebook.csv"
VARIED_COLUMN = "varied"
_EXTRA_PROPERTIES = ("assignment", "seed", "sandbox", "lms", "lms_id", "lms_name", "lms_login")
HTML = "html"  # the pages a browser shows: index.html and one per student
ERROR_CELL = "error"  # CSV cell of a check the grader could not run (or of every check, for a grader error)


def student_order(name: str) -> tuple[str, str]:
    return name.casefold(), name


def check_columns(reports: Iterable[StudentReport]) -> list[str]:
    """Check ids in the order the assignment lists them (as the first student's suite does), not alphabetical."""
    columns: dict[str, None] = {}
    for report in reports:
        columns.update(dict.fromkeys(report.check_ids))
    return list(columns)


def csv_text(reports: list[StudentReport]) -> str:
    """`student,score,max_score,percent`, then one column per check: the points earned, then `varied`.

    A cell is `error` where the grader could not run the check and empty where the
    student's report has no such check (shards graded with different assignments).
    `varied` names the checks that failed once and passed when run again alone.
    """
    columns = check_columns(reports)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "percent", *columns, VARIED_COLUMN])
    for report in reports:
        cells = {c.check_id: _cell(c) for c in report.checks}
        percent = "" if report.percent is None else f"{report.percent:.1f}"
        row = [csv_cell(report.student), f"{report.score:g}", f"{report.max_score:g}", percent]
        if report.grader_error is not None:
            graded = set(report.check_ids) or set(columns)
            row += [ERROR_CELL if column in graded else "" for column in columns]
        else:
            row += [cells.get(column, "") for column in columns]
        writer.writerow([*row, " ".join(report.varied)])
    return buffer.getvalue()


def _cell(check: CheckResult) -> str:
    if check.status is Status.ERROR:
        return ERROR_CELL
    return f"{check.points:g}"


def gradescope(report: StudentReport) -> dict[str, Any]:
    """Gradescope's results.json; its top level has no max_score, so that goes into extra_data."""
    extra = {
        "student": report.student,
        "max_score": report.max_score,
        **{k: report.properties[k] for k in _EXTRA_PROPERTIES if k in report.properties},
    }
    if report.grader_error is not None:
        return {
            "score": 0.0,
            "output": _warned(report, f"The grader could not grade this submission: {report.grader_error}"),
            "tests": [],
            "extra_data": extra,
        }
    return {
        "score": report.score,
        "output": _warned(report, score_line(report)),
        "tests": [
            {
                "name": c.check_id,
                "score": c.points,
                "max_score": c.max_points,
                "status": "passed" if c.passed else "failed",
                "output": format_result(c),
            }
            for c in report.checks
        ],
        "extra_data": extra,
    }


def feedback(report: StudentReport) -> str:
    """The score, then what cost points (each cause once, with its fix), then each failed check's evidence."""
    lines = [f"# {report.student}", ""]
    if report.properties.get("warning"):
        lines += [f"> **Warning:** {report.properties['warning']}", ""]
    if report.grader_error is not None:
        lines += [
            "The grader could not grade this submission, so it has no score yet:",
            "",
            *_fenced(report.grader_error),
            "",
            "It is graded again on the grader's next run.",
        ]
        return "\n".join(lines) + "\n"
    lines += [f"**{score_line(report)}**", "", _run_line(report), ""]
    if report.varied:
        lines += [
            f"> **Graded twice:** {', '.join(report.varied)} failed on a first run and passed when run "
            "again alone, so the points are the second run's. If the program behaves differently from run "
            "to run (randomness, timing), its grade may differ next time.",
            "",
        ]
    lines += report_notes.markdown_section(report)
    causes = CauseList.of(report)
    lines += ["## What cost points", ""]
    lines += _cause_list(causes.required, 1, points=True) or ["Nothing: every required check passed.", ""]
    if causes.advisory or causes.again:
        lines += ["## Advisories (cost no points)", ""]
        lines += _cause_list(causes.advisory, len(causes.required) + 1, points=False)
        if causes.again:
            lines += [f"The causes above also fail: {markdown_text(', '.join(causes.again))}.", ""]
    if report.failures or report.advisories:
        lines += ["## What each failed check saw", ""]
        lines += [line for check in report.failures + report.advisories for line in _check_section(check, causes)]
    passed = [c for c in report.checks if c.passed]
    if passed:
        lines += ["## Passed", ""] + [f"- {c.check_id} ({points_text(c)})" for c in passed] + [""]
    return "\n".join(lines)


def _warned(report: StudentReport, text: str) -> str:
    """`text` after the suite's `warning` (a local grading: student programs were not sandboxed), if it has one."""
    warning = report.properties.get("warning")
    return f"Warning: {warning}\n\n{text}" if warning else text


def _run_line(report: StudentReport) -> str:
    p = report.properties
    parts = [
        f"{label} {p[key]}"
        for key, label in (
            ("assignment", "Assignment"),
            ("seed", "seed"),
            ("sandbox", "sandbox"),
            ("discovered", "programs found:"),
        )
        if p.get(key)
    ]
    return ", ".join(parts) + "." if parts else ""


def _cause_list(causes: list[RootCause], first: int, points: bool) -> list[str]:
    """Numbered causes, each once: what is wrong and the fix, the student's line, the checks it covers."""
    lines = []
    for number, cause in enumerate(causes, first):
        cost = f"{points_word(cause.lost)}, " if points else ""
        checks = f"{cost}{_plural(len(cause.checks), 'check')}: {', '.join(cause.check_ids)}"
        lines.append(f"{number}. {markdown_text(cause.text)} ({markdown_text(checks)})")
        if cause.where:
            lines.append(f"   - in your code: {markdown_code(cause.where)}")
    return [*lines, ""] if lines else []


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _check_section(check: CheckResult, causes: CauseList) -> list[str]:
    number = causes.numbers.get(check.check_id)
    why = f" (cause {number} above)" if number is not None and check.cause else ""
    lines = [
        f"### {check.check_id} ({points_text(check)}, {check.status.value})",
        "",
        markdown_text(check.summary) + why,
        "",
    ]
    if check.evidence:
        lines += [*_fenced("\n".join(check.evidence)), ""]
    return lines


def _fenced(text: str) -> list[str]:
    # A program's output is quoted as it printed it, but for what a terminal would obey
    # (`cat feedback.md`): the fence outgrows any backtick run inside it.
    text = terminal_text(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def publish(out: Path, suites: Iterable[TestSuite]) -> list[StudentReport]:
    """Write every report of `out` from the students' suites; return the students' reports, sorted."""
    ordered = sorted(suites, key=lambda s: student_order(s.name))
    reports = [junit.report(s) for s in ordered]
    out.mkdir(parents=True, exist_ok=True)
    junit.document(ordered, GRADEBOOK_NAME).write(str(out / GRADEBOOK_XML))
    (out / GRADEBOOK_CSV).write_text(csv_text(reports), encoding="utf-8")
    for folder in ("feedback", "results"):
        (out / folder).mkdir(exist_ok=True)
    for report in reports:
        (out / "feedback" / f"{report.student}.md").write_text(feedback(report), encoding="utf-8")
        (out / "results" / f"{report.student}.json").write_text(
            json.dumps(gradescope(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    (out / HTML).mkdir(exist_ok=True)
    for name, text in html_report.pages(reports).items():
        (out / HTML / name).write_text(text, encoding="utf-8")
    return reports
