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


def terminal_summary(results: list[CheckResult]) -> list[str]:
    """The end of a self-check: the score, then what cost points, each cause once with the checks it covers.

    A cause is a failure's hint, or its summary where it has none: a server bound to
    127.0.0.1 fails many checks with one hint, and the student reads it once.
    """
    score, worth = sum(r.points for r in results), sum(r.max_points for r in results)
    percent = f" ({100 * score / worth:.1f} %)" if worth else ""
    lines = [f"Score: {score:g}/{worth:g}{percent}"]
    causes: dict[str, list[CheckResult]] = {}
    for result in results:
        if not result.passed and not result.advisory:
            causes.setdefault(result.hint or result.summary, []).append(result)
    if causes:
        lines.append("What cost points:")
    for cause, failed in causes.items():
        lost = sum(r.max_points - r.points for r in failed)
        lines.append(f"  - {cause} ({lost:g} points: {', '.join(r.check_id for r in failed)})")
    advisories = [r.check_id for r in results if not r.passed and r.advisory]
    if advisories:
        lines.append(f"Advisories failed (no points): {', '.join(advisories)}")
    return lines


def score_line(report: StudentReport) -> str:
    percent = "" if report.percent is None else f" ({report.percent:.1f} %)"
    return f"Score: {report.score:g}/{report.max_score:g}{percent}"
