"""Words for results: how a check result and a score read in pytest output, JUnit and feedback."""

from __future__ import annotations

from grader.model import CheckResult, Status, StudentReport


def format_result(result: CheckResult) -> str:
    lines = [f"{result.check_id}: {result.status.value.upper()} ({points_text(result)}): {result.summary}"]
    lines += [f"  - {line}" for line in result.evidence]
    if result.hint:
        lines.append(f"  hint: {result.hint}")
    return "\n".join(lines)


def points_text(result: CheckResult) -> str:
    if result.status is Status.ERROR:
        return "not graded"
    return f"{result.points:g}/{result.max_points:g} points"


def score_line(report: StudentReport) -> str:
    percent = "" if report.percent is None else f" ({report.percent:.1f} %)"
    return f"Score: {report.score:g}/{report.max_score:g}{percent}"
