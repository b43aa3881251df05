"""What a student's report says besides the checks: who the LMS says they are, what intake and discovery noted.

Read back from the suite's properties (`lms_*`, `intake_notes`, `discovery_notes`,
`submission_error`), so feedback and hand-back files written after `grader merge` say the
same as those written by `grader grade`.
"""

from __future__ import annotations

import json

from grader.model import StudentReport
from grader.names import markdown_text

LAYOUT_TITLES = {
    "canvas": "Canvas",
    "moodle": "Moodle",
    "github-classroom": "GitHub Classroom",
    "blackboard": "Blackboard",
    "brightspace": "Brightspace",
    "gradescope": "Gradescope",
}


def identity_line(report: StudentReport) -> str | None:
    """`Canvas: id 1234, name smithjane`, or None for a submission that did not come from an LMS."""
    p = report.properties
    if "lms" not in p:
        return None
    parts = [
        f"{label} {p[key]}"
        for key, label in (("lms_id", "id"), ("lms_name", "name"), ("lms_login", "login"))
        if p.get(key)
    ]
    return f"{LAYOUT_TITLES.get(p['lms'], p['lms'])}: {', '.join(parts)}"


def intake_notes(report: StudentReport) -> list[str]:
    return _json_list(report.properties.get("intake_notes"))


def discovery_notes(report: StudentReport) -> list[str]:
    return _json_list(report.properties.get("discovery_notes"))


def submission_error(report: StudentReport) -> str | None:
    return report.properties.get("submission_error")


def _json_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def markdown_section(report: StudentReport) -> list[str]:
    """The lines feedback shows under the score: the reason a submission was not graded, then every note.

    Each quotes file names and LMS fields a student chose: Markdown of theirs shows as text.
    """
    lines: list[str] = []
    problem = submission_error(report)
    if problem:
        lines += ["**This submission could not be graded as handed in:** " + markdown_text(problem), ""]
    identity = identity_line(report)
    if identity:
        lines += [markdown_text(identity), ""]
    notes = intake_notes(report) + discovery_notes(report)
    if notes:
        lines += ["## Notes", "", *[f"- {markdown_text(note)}" for note in notes], ""]
    return lines
