"""Fixtures of the pipeline tests: the Jenkins schema the outputs must pass, normalised student suites."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import xmlschema
from junitparser import TestSuite
from pipeline_samples import FULL_MARKS, XSD, junit_text, suite_of


@pytest.fixture(scope="session")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


@pytest.fixture
def make_suite() -> Callable[..., TestSuite]:
    """make_suite(student, cases=FULL_MARKS): a normalised suite as `grader grade` writes it."""
    return lambda student, cases=FULL_MARKS, **kw: suite_of(junit_text(student, cases, **kw), student)
