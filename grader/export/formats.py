"""One student's report in each platform's own results format. Pure: a StudentReport in, JSON-ready data out.

Gradescope: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (results.json).
PrairieLearn: https://prairielearn.readthedocs.io/en/latest/externalGrading/ (Grading results).
Autolab: https://docs.autolabproject.com/lab/ (the autoresult, the last line of output).
GitHub Classroom: the `result` output that education/autograding-grading-reporter decodes
(base64 JSON: `max_score`, `tests[].score`, `status`) and totals into "Points N/M".
Advisory checks are shown everywhere and are worth 0 of 0 points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader import gradebook
from grader.model import CheckResult, StudentReport
from grader.names import markdown_text as _md
from grader.report import RootCause, format_result, points_word, root_causes, score_line
from grader.spec import Assignment

GRADER_FAILED = "The grader could not grade this submission, so it has no score yet"


@dataclass(frozen=True)
class Catalog:
    """What the assignment says of its checks: a report tells advisory ones apart only when they fail."""

    descriptions: dict[str, str] = field(default_factory=dict)
    advisory: frozenset[str] = frozenset()

    @classmethod
    def of(cls, assignment: Assignment) -> Catalog:
        return cls(
            {c.id: c.description for c in assignment.checks},
            frozenset(c.id for c in assignment.checks if not c.required),
        )

    def is_advisory(self, check: CheckResult) -> bool:
        return check.advisory or check.check_id in self.advisory

    def earned(self, check: CheckResult) -> float:
        return 0.0 if self.is_advisory(check) else check.points

    def worth(self, check: CheckResult) -> float:
        return 0.0 if self.is_advisory(check) else check.max_points


def role_of(check_id: str) -> str:
    return check_id.split(".", 1)[0]


def gradescope(report: StudentReport, seconds: float, catalog: Catalog) -> dict[str, Any]:
    """results.json: the report's Gradescope shape (grader.gradebook), with every field the platform documents.

    The output is Markdown with the causes of lost points first; each check's own report
    is text (it quotes a program's output verbatim, which must not render).
    """
    results = gradebook.gradescope(report)
    results.update(
        execution_time=round(seconds),
        output=summary_markdown(report),
        output_format="md",
        visibility="visible",
        stdout_visibility="hidden",
    )
    for number, (test, check) in enumerate(zip(results["tests"], report.checks, strict=True), 1):
        test.update(
            number=str(number),
            score=catalog.earned(check),
            max_score=catalog.worth(check),
            output=_with_description(check, catalog),
            output_format="text",
            visibility="visible",
            tags=[role_of(check.check_id), "advisory" if catalog.is_advisory(check) else "required"],
        )
    return results


def prairielearn(report: StudentReport, catalog: Catalog) -> dict[str, Any]:
    """results.json: `score` in 0..1; a grader error is `gradable: false`, which costs the student no attempt."""
    if report.grader_error is not None:
        return {
            "gradable": False,
            "format_errors": [f"{GRADER_FAILED}: {report.grader_error}"],
            "message": f"{GRADER_FAILED}: {report.grader_error}",
            "output": "",
            "tests": [],
        }
    tests = [
        {
            "name": check.check_id,
            "description": catalog.descriptions.get(check.check_id, ""),
            "points": catalog.earned(check),
            "max_points": catalog.worth(check),
            "message": _message(check),
            "output": format_result(check),
        }
        for check in report.checks
    ]
    return {
        "gradable": True,
        "score": report.score / report.max_score if report.max_score else 0.0,
        "message": score_line(report),
        "output": summary_text(report),
        "tests": tests,
    }


def autolab_scores(report: StudentReport, catalog: Catalog) -> dict[str, Any]:
    """The autoresult: points per check group (the role: udp_server, ...), every group named even at 0."""
    scores = dict.fromkeys((role_of(check_id) for check_id in report.check_ids), 0.0)
    for check in report.checks:
        scores[role_of(check.check_id)] += catalog.earned(check)
    return {"scores": {group: _number(points) for group, points in scores.items()}}


def classroom(report: StudentReport, catalog: Catalog) -> dict[str, Any]:
    """What the grading reporter reads from a runner's `result` output (before base64)."""
    if report.grader_error is not None:
        return {
            "version": 1,
            "status": "error",
            "max_score": report.max_score,
            "tests": [
                {"name": "grader", "status": "error", "score": 0, "message": f"{GRADER_FAILED}: {report.grader_error}"}
            ],
        }
    tests = [
        {
            "name": check.check_id,
            "status": "pass" if check.passed or catalog.is_advisory(check) else "fail",
            "score": _number(catalog.earned(check)),
            "message": _message(check),
        }
        for check in report.checks
    ]
    return {
        "version": 1,
        "status": "fail" if report.failures else "pass",
        "max_score": _number(report.max_score),
        "tests": tests,
    }


def summary_markdown(report: StudentReport) -> str:
    """The score, then what cost points (each cause once, with the checks it covers), then the advisories."""
    lines = []
    if report.properties.get("warning"):
        lines += [f"> **Warning:** {_md(report.properties['warning'])}", ""]
    if report.grader_error is not None:
        return "\n".join([*lines, f"**{GRADER_FAILED}.**", "", "```text", report.grader_error, "```", ""])
    lines += [f"**{score_line(report)}**", ""]
    if report.failures:
        lines += ["## What cost points", ""]
        lines += [f"- {_md(c.line())} ({_md(_covers(c, points=True))})" for c in root_causes(report.failures)] + [""]
    if report.advisories:
        lines += ["## Advisories (no points)", ""]
        lines += [f"- {_md(c.line())} ({_md(_covers(c))})" for c in root_causes(report.advisories)] + [""]
    if not report.failures:
        lines += ["Every required check passed.", ""]
    return "\n".join(lines)


def summary_text(report: StudentReport) -> str:
    """The same, as plain text, for platforms that show text only."""
    lines = [f"Warning: {report.properties['warning']}", ""] if report.properties.get("warning") else []
    if report.grader_error is not None:
        return "\n".join([*lines, f"{GRADER_FAILED}: {report.grader_error}"])
    lines.append(score_line(report))
    lines += [f"- {c.line()} ({_covers(c, points=True)})" for c in root_causes(report.failures)]
    lines += [f"- {c.line()} (advisory: {_covers(c)})" for c in root_causes(report.advisories)]
    return "\n".join(lines)


def _with_description(check: CheckResult, catalog: Catalog) -> str:
    description = catalog.descriptions.get(check.check_id)
    text = format_result(check)
    return f"{description}\n\n{text}" if description else text


def _message(check: CheckResult) -> str:
    """A check's one line on a platform's test list: what it saw, and its cause."""
    if check.passed or check.cause is None:
        return check.summary
    where = f" (at {check.cause.where})" if check.cause.where else ""
    return f"{check.summary}. Cause: {check.cause.text}{where}"


def _covers(cause: RootCause, points: bool = False) -> str:
    checks = ", ".join(cause.check_ids)
    return f"{points_word(cause.lost)}: {checks}" if points else checks


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
