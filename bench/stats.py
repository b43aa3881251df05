"""Summaries of timing samples, and the ratio of two of them; pure code."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Seconds; p99 by nearest rank, so it is always one of the samples."""

    count: int
    median: float
    p99: float
    worst: float


def percentile(values: Sequence[float], percent: float) -> float:
    if not values:
        raise ValueError("no samples")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent!r}")
    ordered = sorted(values)
    return ordered[math.ceil(percent / 100 * len(ordered)) - 1]


def summarize(values: Sequence[float]) -> Summary:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if not ordered:
        raise ValueError("no samples")
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Summary(len(ordered), median, percentile(ordered, 99), ordered[-1])


def ratio(measured: float, baseline: float) -> float | None:
    """None when the baseline is zero: no honest ratio exists."""
    return measured / baseline if baseline > 0 else None
