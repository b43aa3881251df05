"""Fixtures of the pipeline tests: normalised student suites (the `schema` fixture is the suite's own)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from junitparser import TestSuite
from pipeline_samples import FULL_MARKS, junit_text, suite_of


@pytest.fixture
def make_suite() -> Callable[..., TestSuite]:
    """make_suite(student, cases=FULL_MARKS): a normalised suite as `grader grade` writes it."""
    return lambda student, cases=FULL_MARKS, **kw: suite_of(junit_text(student, cases, **kw), student)
