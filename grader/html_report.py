"""The reports people look at in a browser: a page per student and one for the class. Pure: reports in, HTML out.

A page runs no script and loads nothing (its Content-Security-Policy says so to the
browser too), so a student's output quoted in it can only ever show as text: every string
that came from a grading is written through `sequence_diagram.text` (controls escaped by
`grader.names.shown`, then `html.escape`).

- Student page: the score, then what cost points (each root cause once, its cost, the
  checks it covers, the student's line), the advisories, then one section per check with
  its summary, the sequence diagram of its exchange and its evidence folded away.
- Class page (`index.html`): the score distribution, each check's pass rate, the most common
  root causes across students (by `Cause.key`) and a link to every student's page; a
  student the grader could not grade is "not graded", never a 0.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from grader import report_notes
from grader.model import CheckResult, Status, StudentReport
from grader.names import terminal_text
from grader.report import CauseList, RootCause, points_text, points_word, root_causes, score_line
from grader.sequence_diagram import histogram, sequence, text

INDEX = "index.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
NAME_CHARS = 200
LINE_CHARS = 2000  # a summary or a cause: long enough for any the grader writes, bounded for one a suite forged
EVIDENCE_CHARS = 200_000  # of a check's evidence, all lines together

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1b1f23; background: #fff; margin: 2em auto; max-width: 1000px;
       padding: 0 1em; }
h1 { margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
code, pre { font: 13px/1.4 ui-monospace, monospace; background: #f6f8fa; }
pre { padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.score { font-size: 1.3em; font-weight: 600; }
.warning { background: #fff8c5; padding: .5em; border-left: 4px solid #d4a72c; }
.cause { margin-bottom: .6em; } .cause .cost { font-weight: 600; color: #cf222e; }
.check { border: 1px solid #d0d7de; border-radius: 6px; padding: .4em 1em; margin: 1em 0; }
.check.failed, .check.missing { border-left: 6px solid #cf222e; }
.check.error { border-left: 6px solid #8250df; } .check.passed { border-left: 6px solid #1a7f37; }
.check.advisory { border-left-color: #d4a72c; }
.status { font-weight: 600; text-transform: uppercase; font-size: .85em; }
svg.sequence { display: block; margin: .6em 0; font: 12px ui-monospace, monospace; }
svg.sequence .lifeline rect { fill: #f6f8fa; stroke: #57606a; }
svg.sequence .lifeline line { stroke: #8c959f; stroke-dasharray: 2 4; }
svg.sequence .lifeline text { font-weight: 600; }
svg.sequence .arrow { stroke: #0969da; stroke-width: 1.6; } svg.sequence .head { fill: #0969da; }
svg.sequence .from-program .arrow { stroke: #1a7f37; } svg.sequence .from-program .head { fill: #1a7f37; }
svg.sequence .arrow.dropped, svg.sequence .arrow.failed { stroke: #cf222e; stroke-dasharray: 6 3; }
svg.sequence .cross { stroke: #cf222e; stroke-width: 3; }
svg.sequence .arrow.duplicated, svg.sequence .arrow.copy { stroke: #8250df; }
svg.sequence .duplicated .head, svg.sequence .repeated .head { fill: #8250df; }
svg.sequence .arrow.repeated { stroke: #8250df; stroke-dasharray: 10 2; }
svg.sequence .arrow.held { stroke: #bc4c00; stroke-dasharray: 8 4; } svg.sequence .held .head { fill: #bc4c00; }
svg.sequence .arrow.delayed { stroke: #9a6700; stroke-dasharray: 2 3; } svg.sequence .delayed .head { fill: #9a6700; }
svg.sequence .fate { font-style: italic; fill: #57606a; } svg.sequence .time, svg.sequence .note { fill: #57606a; }
svg.sequence .silent .label { fill: #cf222e; }
svg.histogram { font: 12px system-ui, sans-serif; } svg.histogram .bar { fill: #0969da; }
svg.histogram .axis { stroke: #57606a; }
table { border-collapse: collapse; } td, th { padding: .25em .7em; border-bottom: 1px solid #d0d7de; text-align: left; }
.rate { display: inline-block; width: 200px; height: .8em; background: #eaeef2; }
.rate span { display: block; height: 100%; background: #1a7f37; }
.not-graded { color: #8250df; font-weight: 600; } table.students td:nth-child(2) { white-space: nowrap; }
"""


def page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def page_name(student: str) -> str:
    """The file a student's page is written to: their report key, already safe for a file name.

    A student called "index" would overwrite the class page; no report key starts with "~",
    so "~index.html" is theirs alone.
    """
    return f"~{student}.html" if student.casefold() == INDEX.removesuffix(".html") else f"{student}.html"


def link_to(student: str) -> str:
    return quote(page_name(student))


def check_anchor(check_id: str) -> str:
    """An id for a check's section; check ids are the assignment's own, but a suite could bring any."""
    return "check-" + quote(check_id, safe="")


# ---------------------------------------------------------------------------- the student's page


def student_page(report: StudentReport) -> str:
    name = text(report.student, NAME_CHARS)
    body = [f'<h1 class="student">{name}</h1>']
    if report.properties.get("warning"):
        body.append(f'<p class="warning">{text(report.properties["warning"], LINE_CHARS)}</p>')
    if report.grader_error is not None:
        body += [
            '<p class="score not-graded">Not graded</p>',
            '<section id="grader-error"><p>The grader could not grade this submission, so it has no score yet. '
            "It is graded again on the grader's next run.</p>",
            f"<pre>{_block(report.grader_error)}</pre></section>",
        ]
        return page(f"{name}: not graded", body)
    body += [f'<p class="score">{text(score_line(report), LINE_CHARS)}</p>', *_notes(report)]
    causes = CauseList.of(report)
    body += ['<section id="causes">', "<h2>What cost points</h2>"]
    body += (
        _causes(causes.required, 1, points=True)
        if causes.required
        else ['<p class="none">Nothing: every required check passed.</p>']
    )
    body.append("</section>")
    if causes.advisory or causes.again:
        first = len(causes.required) + 1
        body += ['<section id="advisories">', "<h2>Advisories (cost no points)</h2>"]
        body += _causes(causes.advisory, first, points=False) if causes.advisory else []
        if causes.again:
            again = ", ".join(f'<a href="#{check_anchor(c)}">{text(c, 200)}</a>' for c in causes.again)
            body.append(f'<p class="again">The causes above also fail: {again}.</p>')
        body.append("</section>")
    checks = [line for c in report.checks for line in _check(c, causes.numbers.get(c.check_id))]
    body += ['<section id="checks">', "<h2>Checks</h2>", *checks]
    body.append("</section>")
    return page(f"{name}: {text(score_line(report), 100)}", body)


def _notes(report: StudentReport) -> list[str]:
    lines = []
    problem = report_notes.submission_error(report)
    if problem:
        lines.append(
            f'<p class="warning">This submission could not be graded as handed in: {text(problem, LINE_CHARS)}</p>'
        )
    identity = report_notes.identity_line(report)
    if identity:
        lines.append(f'<p class="identity">{text(identity, LINE_CHARS)}</p>')
    notes = report_notes.intake_notes(report) + report_notes.discovery_notes(report)
    if notes:
        lines += ['<ul class="notes">', *[f"<li>{text(n, LINE_CHARS)}</li>" for n in notes], "</ul>"]
    return lines


def _causes(causes: list[RootCause], first: int, points: bool) -> list[str]:
    lines = [f'<ol class="causes" start="{first}">']
    for number, cause in enumerate(causes, first):
        cost = f'<span class="cost">{points_word(cause.lost)}</span>, ' if points else ""
        checks = ", ".join(f'<a href="#{check_anchor(c)}">{text(c, 200)}</a>' for c in cause.check_ids)
        count = len(cause.checks)
        where = (
            f'<div class="where">in your code: <code>{text(cause.where, LINE_CHARS)}</code></div>'
            if cause.where
            else ""
        )
        lines.append(
            f'<li class="cause" id="cause-{number}" data-key="{text(cause.key, 100)}">'
            f'<span class="text">{text(cause.text, LINE_CHARS)}</span> '
            f'({cost}{count} check{"" if count == 1 else "s"}: <span class="covers">{checks}</span>){where}</li>'
        )
    return [*lines, "</ol>"]


def _check(check: CheckResult, cause_number: int | None) -> list[str]:
    status = check.status.value
    classes = f"check {status}" + (" advisory" if check.advisory and not check.passed else "")
    label = "advisory, " if check.advisory else ""
    lines = [
        f'<section class="{classes}" id="{check_anchor(check.check_id)}">',
        f'<h3>{text(check.check_id, 200)} <span class="status">{status}</span> '
        f'<span class="points">({label}{text(points_text(check), 100)})</span></h3>',
        f'<p class="summary">{text(check.summary, LINE_CHARS)}</p>',
    ]
    if check.cause and not check.passed and cause_number is not None:  # told once, above: this points to it
        lines.append(f'<p class="why"><a href="#cause-{cause_number}">Cause {cause_number}</a> (above)</p>')
    if check.steps and check.passed:  # folded: what a student reads first is what failed
        lines += ['<details class="diagram"><summary>The exchange</summary>', sequence(check.steps, check.check_id)]
        lines.append("</details>")
    elif check.steps:
        lines.append(sequence(check.steps, check.check_id))
    if check.evidence:
        lines += [
            '<details class="evidence"><summary>Evidence</summary>',
            f"<pre>{_block(chr(10).join(check.evidence))}</pre>",
            "</details>",
        ]
    return [*lines, "</section>"]


def _block(value: str) -> str:
    """Lines of a program's output for a <pre>: line breaks kept, every other control escaped, then markup."""
    kept = value if len(value) <= EVIDENCE_CHARS else value[:EVIDENCE_CHARS] + "…"
    return html.escape(terminal_text(kept), quote=True)


# ---------------------------------------------------------------------------- the class's page


@dataclass(frozen=True)
class CommonCause:
    key: str
    example: str  # one student's text of it
    students: int
    checks: int


EXAMPLE_CHARS = 200  # of one student's text on the class page: it may quote what their program printed


def common_causes(reports: Sequence[StudentReport]) -> list[CommonCause]:
    """Root causes by `Cause.key` across the class, the most students first; each student counted once a key.

    Failures no rule explains group by their summary instead ("no tcp_server found in the
    submission"), so that unrelated ones are never counted as one cause.
    """
    found: dict[tuple[str, str], list[RootCause]] = {}
    for report in reports:
        seen: dict[tuple[str, str], list[RootCause]] = {}
        for cause in root_causes(report.failures):
            seen.setdefault((cause.key, "" if cause.cause else cause.summary), []).append(cause)
        for group, causes in seen.items():
            found.setdefault(group, []).append(_merged(causes))
    rows = [
        CommonCause(key, causes[0].text, len(causes), sum(len(c.checks) for c in causes))
        for (key, _), causes in found.items()
    ]
    return sorted(rows, key=lambda row: (-row.students, -row.checks, row.key, row.example))


def _merged(causes: list[RootCause]) -> RootCause:
    """One student's causes of one key (told apart by the line they point at) as one, with all their checks."""
    return RootCause(causes[0].cause, causes[0].summary, tuple(c for cause in causes for c in cause.checks))


@dataclass(frozen=True)
class PassRate:
    check_id: str
    passed: int
    graded: int  # students whose check ran (a check the grader could not run counts for neither)

    @property
    def percent(self) -> float | None:
        return 100 * self.passed / self.graded if self.graded else None


def pass_rates(reports: Sequence[StudentReport]) -> list[PassRate]:
    order: dict[str, list[CheckResult]] = {}
    for report in reports:
        for check in report.checks:
            order.setdefault(check.check_id, []).append(check)
    return [
        PassRate(check_id, sum(c.passed for c in checks), sum(c.status is not Status.ERROR for c in checks))
        for check_id, checks in order.items()
    ]


def class_page(reports: Sequence[StudentReport], title: str = "socket-lab") -> str:
    graded = [r for r in reports if r.grader_error is None]
    missed = len(reports) - len(graded)
    percents = [r.percent for r in graded if r.percent is not None]
    head = f"{len(reports)} students, {len(graded)} graded" + (f", {missed} not graded" if missed else "")
    body = [
        f"<h1>{text(title, 200)}: the class</h1>",
        f'<p class="summary">{head}.</p>',
        '<section id="distribution"><h2>Score distribution</h2>',
        histogram(percents),
        "</section>",
        '<section id="pass-rates"><h2>Pass rate of each check</h2>',
        '<table class="pass-rates"><tr><th>check</th><th>passed</th><th>rate</th></tr>',
    ]
    for rate in pass_rates(graded):
        share = rate.percent
        shown_rate = "—" if share is None else f"{share:.0f} %"
        bar = f'<span class="rate"><span style="width: {share or 0:.1f}%"></span></span>'
        body.append(
            f'<tr class="pass-rate"><td>{text(rate.check_id, 200)}</td><td>{rate.passed}/{rate.graded}</td>'
            f"<td>{bar} {shown_rate}</td></tr>"
        )
    body += ["</table></section>", '<section id="common-causes"><h2>Most common root causes</h2>']
    causes = common_causes(graded)
    if causes:
        body.append(
            '<table class="common-causes"><tr><th>cause</th><th>students</th><th>checks</th><th>for example</th></tr>'
        )
        body += [
            f'<tr class="common-cause" data-key="{text(c.key, 100)}"><td><code>{text(c.key, 100)}</code></td>'
            f"<td>{c.students}</td><td>{c.checks}</td><td>{text(c.example, EXAMPLE_CHARS)}</td></tr>"
            for c in causes
        ]
        body.append("</table>")
    else:
        body.append("<p>No check failed.</p>")
    body += ["</section>", '<section id="students"><h2>Students</h2>', '<table class="students">']
    body.append("<tr><th>student</th><th>score</th><th>costliest cause</th></tr>")
    body += [_student_row(r) for r in reports]
    body += ["</table></section>"]
    return page(f"{text(title, 200)}: the class", body)


def _student_row(report: StudentReport) -> str:
    link = f'<a class="student" href="{link_to(report.student)}">{text(report.student, NAME_CHARS)}</a>'
    if report.grader_error is not None:
        return f'<tr class="student not-graded-row"><td>{link}</td><td class="not-graded">not graded</td><td></td></tr>'
    percent = "" if report.percent is None else f" ({report.percent:.0f} %)"
    causes = root_causes(report.failures)
    top = text(causes[0].text, 160) if causes else ""
    return (
        f'<tr class="student"><td>{link}</td><td>{report.score:g}/{report.max_score:g}{percent}</td><td>{top}</td></tr>'
    )


def pages(reports: Sequence[StudentReport], title: str = "socket-lab") -> dict[str, str]:
    """Every page of a class by file name: `index.html` and one `<student>.html` each."""
    found = {page_name(r.student): student_page(r) for r in reports}
    found[INDEX] = class_page(reports, title)
    return found
