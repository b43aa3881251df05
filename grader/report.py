"""Words for results: how a check result reads in pytest output, JUnit and feedback."""

from __future__ import annotations

from grader.model import CheckResult


def format_result(result: CheckResult) -> str:
    lines = [f"{result.check_id}: {result.status.value.upper()} ({result.points:g}/{result.max_points:g} points): "
             f"{result.summary}"]
    lines += [f"  - {line}" for line in result.evidence]
    if result.hint:
        lines.append(f"  hint: {result.hint}")
    return "\n".join(lines)
