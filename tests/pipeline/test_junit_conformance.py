"""The rules every JUnit file is checked against: what Jenkins' schema would catch; the schema runs where present."""

from __future__ import annotations

import pytest
from junit_conformance import SCHEMA_MISSING, XSD, Conformance, StructureError, check_structure

GOOD = (
    '<testsuites><testsuite name="erin" tests="1" failures="0" errors="0" time="1.250">'
    '<properties><property name="score" value="1"/></properties>'
    '<testcase name="udp_server.basic" classname="erin" time="0.5"><system-out>x</system-out></testcase>'
    "</testsuite></testsuites>"
)


def test_a_suite_as_the_grader_writes_it_passes_the_structural_rules():
    check_structure(GOOD)


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (GOOD.replace(' failures="0"', ""), "missing ['failures']"),
        (GOOD.replace("<system-out>x</system-out>", '<error message="x"/>'), "holds <error>"),
        (GOOD.replace('time="1.250"', 'time="1e3"'), "not a plain decimal"),
        (GOOD.replace('classname="erin"', 'classname="erin" points="1"'), "not allowed ['points']"),
        (GOOD.replace('<property name="score" value="1"/>', '<property name="score"/>'), "<properties> holds"),
        (GOOD.replace("<testsuites>", "<results>").replace("</testsuites>", "</results>"), "root element is <results>"),
    ],
    ids=["no failures count", "error element", "time", "extra attribute", "property without value", "root"],
)
def test_the_structural_rules_reject_what_the_jenkins_schema_rejects(broken, why):
    with pytest.raises(StructureError, match=__import__("re").escape(why)):
        check_structure(broken)


def test_the_grader_outputs_are_checked_against_the_jenkins_schema_where_it_is_present():
    if not XSD.is_file():
        pytest.skip(SCHEMA_MISSING)
    conformance = Conformance()
    conformance.validate(GOOD)
    with pytest.raises(Exception, match="failures"):
        conformance.validate(GOOD.replace(' failures="0"', ""))


def test_without_the_schema_the_structural_rules_still_run(tmp_path):
    conformance = Conformance(tmp_path / "absent.xsd")
    assert conformance.schema is None
    with pytest.raises(StructureError):
        conformance.validate(GOOD.replace(' errors="0"', ""))
