"""Words for results: how a check result and a score read in pytest output, JUnit and feedback."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from grader.model import Cause, CheckResult, Status, StudentReport
from grader.names import terminal_text


@dataclass(frozen=True)
class RootCause:
    """One reason checks failed, with every check it covers: what feedback tells once."""

    cause: Cause | None  # None: a failure no rule explains; its summary stands for it
    summary: str
    checks: tuple[CheckResult, ...]

    @property
    def text(self) -> str:
        return self.cause.text if self.cause else self.summary

    @property
    def where(self) -> str | None:
        return self.cause.where if self.cause else None

    @property
    def key(self) -> str:
        return self.cause.key if self.cause else "unexplained"

    @property
    def lost(self) -> float:
        return sum(c.max_points - c.points for c in self.checks)

    @property
    def role(self) -> str:
        return self.checks[0].check_id.split(".", 1)[0]

    @property
    def check_ids(self) -> list[str]:
        return [c.check_id for c in self.checks]

    def line(self) -> str:
        """The cause in one line: what is wrong, the fix, and the student's line it points at."""
        return f"{self.text} (at {self.where})" if self.where else self.text


def root_causes(results: Iterable[CheckResult]) -> list[RootCause]:
    """Failed checks grouped by cause, the costliest first; checks no rule explains group by their summary.

    One cause is one key and one text in one program (a UDP and a TCP server that both exit
    after serving are two causes, each with its own line); the student's line is the first
    check's that names one (a crash names it from a traceback, another check may not see one).
    """
    groups: dict[tuple[str, ...], list[CheckResult]] = {}
    for result in results:
        if not result.passed:
            cause, role = result.cause, result.check_id.split(".", 1)[0]
            groups.setdefault((role, cause.key, cause.text) if cause else (role, result.summary), []).append(result)
    found = []
    for checks in groups.values():
        causes = [c.cause for c in checks if c.cause is not None]
        where = next((c.where for c in causes if c.where), None)
        cause = dataclasses.replace(causes[0], where=where) if causes else None
        found.append(RootCause(cause, checks[0].summary, tuple(checks)))
    return sorted(found, key=lambda r: -r.lost)  # stable: equal costs keep the order the checks ran in


def format_result(result: CheckResult) -> str:
    lines = [f"{result.check_id}: {result.status.value.upper()} ({points_text(result)}): {result.summary}"]
    lines += [f"  - {line}" for line in result.evidence]
    if result.cause:
        where = f" (at {result.cause.where})" if result.cause.where else ""
        lines.append(f"  cause: {result.cause.text}{where}")
    # Program output is quoted in it, and it is shown in terminals, CI logs and platforms' pages.
    return terminal_text("\n".join(lines))


def points_word(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def points_text(result: CheckResult) -> str:
    if result.status is Status.ERROR:
        return "not graded"
    return f"{result.points:g}/{result.max_points:g} points"


def terminal_summary(results: list[CheckResult]) -> list[str]:
    """The end of a self-check: the score, then what cost points, each cause once with the checks it covers.

    A server bound to 127.0.0.1 fails many checks for one cause, and the student reads it once.
    """
    score, worth = sum(r.points for r in results), sum(r.max_points for r in results)
    percent = f" ({100 * score / worth:.1f} %)" if worth else ""
    lines = [f"Score: {score:g}/{worth:g}{percent}"]
    causes = root_causes(r for r in results if not r.advisory)
    if causes:
        lines.append("What cost points:")
    for cause in causes:
        lines.append(f"  - {cause.line()} ({points_word(cause.lost)}: {', '.join(cause.check_ids)})")
    advisories, again = new_causes(root_causes(r for r in results if r.advisory), causes)
    if advisories or again:
        lines.append("Advisories (no points):")
    for cause in advisories:
        lines.append(f"  - {cause.line()} ({', '.join(cause.check_ids)})")
    if again:
        lines.append(f"  - the same causes as above: {', '.join(again)}")
    return lines


@dataclass(frozen=True)
class CauseList:
    """A report's causes as feedback tells them: numbered once, what cost points first, then the advisories'."""

    required: list[RootCause]  # numbered 1..n
    advisory: list[RootCause]  # the advisories' causes not told above, numbered n+1..
    again: list[str]  # advisory checks that fail for a cause told above
    numbers: dict[str, int]  # check id -> the number of its cause

    @classmethod
    def of(cls, report: StudentReport) -> CauseList:
        required = root_causes(report.failures)
        every_advisory = root_causes(report.advisories)
        advisory, again = new_causes(every_advisory, required)
        told = required + advisory
        numbers = {}
        for cause in told + every_advisory:
            number = 1 + next(
                n for n, c in enumerate(told) if (c.role, c.key, c.text) == (cause.role, cause.key, cause.text)
            )
            numbers.update(dict.fromkeys(cause.check_ids, number))
        return cls(required, advisory, again, numbers)


def new_causes(causes: list[RootCause], told: list[RootCause]) -> tuple[list[RootCause], list[str]]:
    """The causes not told already, and the checks of those that were: a cause is told once."""
    seen = {(c.role, c.key, c.text) for c in told}
    fresh = [c for c in causes if (c.role, c.key, c.text) not in seen or c.cause is None]
    again = [check for c in causes if c not in fresh for check in c.check_ids]
    return fresh, again


def score_line(report: StudentReport) -> str:
    percent = "" if report.percent is None else f" ({report.percent:.1f} %)"
    return f"Score: {report.score:g}/{report.max_score:g}{percent}"
