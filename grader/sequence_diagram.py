"""An exchange's steps as an inline SVG sequence diagram, and a class's scores as an SVG histogram. Pure.

Two lifelines, the grader on the left and the student's program on the right; one arrow per
step, each lower than the one before (time goes down), its time on the left and what it
carried above it. A dropped datagram's arrow stops halfway at an X; a duplicated one is
drawn twice, a held or delayed one dashed or dotted, a reply sent again in its own colour,
each with its word beside it. Every
text is escaped here (it may be a student's bytes), so the SVG can be pasted into a page as is.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from grader.model import Sender, Step
from grader.names import shown

WIDTH = 960
GRADER_X, PROGRAM_X = 150, 560  # the two lifelines
NOTE_X = PROGRAM_X + 16  # notes sit right of the program's lifeline
TOP = 56  # below the lifelines' name boxes
ROW = 36  # vertical room of one step
SLOPE = 10  # an arrow ends this much lower than it starts: the message takes time
TEXT_CHARS = 64  # of an arrow's label
NOTE_CHARS = 48

CROSSED = frozenset({"dropped", "failed"})  # arrows that never arrive: they end in an X halfway
# The word beside an arrow the network (or the grader's server) did something to; "repeated" is
# a second message of its own, "duplicated" one message the network delivered twice.
MARKED = {
    "duplicated": "duplicated",
    "repeated": "sent again",
    "held": "held back",
    "delayed": "delayed",
    "failed": "failed",
}


def text(value: str, limit: int) -> str:
    """A string from anywhere (a program's output among them) as SVG or HTML text: controls escaped, then markup."""
    return html.escape(shown(value, limit), quote=True)


def sequence(steps: Sequence[Step], title: str) -> str:
    """The diagram of `steps`; `title` names it for screen readers (the check's id)."""
    height = TOP + ROW * len(steps) + 24
    parts = [
        f'<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="sequence diagram of {text(title, 120)}">',
        f"<title>{text(title, 120)}: {len(steps)} steps</title>",
        *_lifeline("grader", GRADER_X, height),
        *_lifeline("program", PROGRAM_X, height),
    ]
    for row, step in enumerate(steps):
        parts += _step(step, TOP + ROW * row + 14)
    parts.append("</svg>")
    return "\n".join(parts)


def _lifeline(name: str, x: int, height: int) -> list[str]:
    return [
        f'<g class="lifeline {name}">',
        f'<rect x="{x - 55}" y="8" width="110" height="28" rx="4"/>',
        f'<text x="{x}" y="27" text-anchor="middle">{name}</text>',
        f'<line x1="{x}" y1="36" x2="{x}" y2="{height - 8}"/>',
        "</g>",
    ]


def _step(step: Step, y: int) -> list[str]:
    fate = step.fate if step.fate.isalnum() else "other"  # a class name, whatever the JSON said
    time_label = f'<text class="time" x="8" y="{y + 4}">{step.at:.3f} s</text>'
    note = f'<text class="note" x="{NOTE_X}" y="{y + 18}">{text(step.note, NOTE_CHARS)}</text>' if step.note else ""
    if fate == "silent":  # a wait that ran out: no arrow, only what the grader waited for
        label = text(step.text, TEXT_CHARS)
        return [
            f'<g class="step silent">{time_label}',
            f'<text class="label" x="{(GRADER_X + PROGRAM_X) // 2}" y="{y + 4}" text-anchor="middle">{label}</text>',
            f'<text class="note" x="{NOTE_X}" y="{y + 4}">{text(step.note, NOTE_CHARS)}</text></g>',
        ]
    start, end = (GRADER_X, PROGRAM_X) if step.sender is Sender.GRADER else (PROGRAM_X, GRADER_X)
    y2 = y + SLOPE
    parts = [f'<g class="step {fate} from-{step.sender.value}">', time_label]
    middle = (GRADER_X + PROGRAM_X) // 2
    parts.append(
        f'<text class="label" x="{middle}" y="{y - 7}" text-anchor="middle">{text(step.text, TEXT_CHARS)}</text>'
    )
    if fate in CROSSED:
        mid_x, mid_y = (start + end) // 2, y + SLOPE // 2
        parts.append(f'<line class="arrow {fate}" x1="{start}" y1="{y}" x2="{mid_x}" y2="{mid_y}"/>')
        parts.append(
            f'<path class="cross" d="M{mid_x - 7} {mid_y - 7} L{mid_x + 7} {mid_y + 7} '
            f'M{mid_x - 7} {mid_y + 7} L{mid_x + 7} {mid_y - 7}"/>'
        )
    else:
        parts.append(f'<line class="arrow {fate}" x1="{start}" y1="{y}" x2="{end}" y2="{y2}"/>')
        if fate == "duplicated":  # the copy, a hair below
            parts.append(f'<line class="arrow copy" x1="{start}" y1="{y + 5}" x2="{end}" y2="{y2 + 5}"/>')
        parts.append(_head(start, end, y2))
    if fate in MARKED:
        side = start + (18 if end > start else -18)
        anchor = "start" if end > start else "end"
        parts.append(f'<text class="fate" x="{side}" y="{y + 16}" text-anchor="{anchor}">{MARKED[fate]}</text>')
    parts += [note, "</g>"]
    return parts


def _head(start: int, end: int, y: int) -> str:
    back = -10 if end > start else 10
    return f'<path class="head" d="M{end} {y} L{end + back} {y - 5} L{end + back} {y + 5} Z"/>'


def histogram(percents: Sequence[float], bins: int = 10) -> str:
    """How many students scored in each tenth of the points (100 % in the last), as bars with their counts."""
    counts = [0] * bins
    for percent in percents:
        counts[min(bins - 1, max(0, int(percent * bins // 100)))] += 1
    width, height, left, bottom, bar = 640, 240, 40, 200, 56
    tallest = max(counts, default=0) or 1
    parts = [
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="score distribution">',
        "<title>score distribution</title>",
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{left + bins * (bar + 4)}" y2="{bottom}"/>',
    ]
    for index, count in enumerate(counts):
        x = left + index * (bar + 4)
        tall = round(160 * count / tallest)
        low, high = index * 100 // bins, (index + 1) * 100 // bins
        parts += [
            f'<rect class="bar" x="{x}" y="{bottom - tall}" width="{bar}" height="{tall}" data-count="{count}"/>',
            f'<text class="count" x="{x + bar // 2}" y="{bottom - tall - 6}" text-anchor="middle">{count}</text>',
            f'<text class="range" x="{x + bar // 2}" y="{bottom + 18}" text-anchor="middle">{low}–{high}%</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)
