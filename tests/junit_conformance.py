"""What every JUnit file the grader writes must be: the project's own structural rules, and the Jenkins schema.

The structural rules always run: they are the subset of Jenkins' `junit-10.xsd` that the
grader's files rely on (which elements go where, which attributes are required, a time
that is a plain decimal), written out here so that a plain clone checks them too. The
schema itself is Jenkins' file, kept beside the project in `../shared/schemas/`; where a
clone has none, the checks against it are skipped, and the skip names the missing file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

XSD = Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / "junit-10.xsd"
SCHEMA_MISSING = (
    f"the Jenkins JUnit schema {XSD} is not beside this clone, so the checks against it are "
    "skipped (the project's own structural checks of the JUnit still ran)"
)

_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?")
_SUITE_ATTRIBUTES = {
    "name",
    "tests",
    "failures",
    "errors",
    "group",
    "time",
    "skipped",
    "timestamp",
    "hostname",
    "id",
    "package",
    "file",
    "log",
    "url",
    "version",
}
_SUITES_ATTRIBUTES = {"name", "time", "tests", "failures", "errors"}
_CASE_ATTRIBUTES = {"name", "time", "classname", "group"}
_SUITE_CHILDREN = {"testsuite", "properties", "testcase", "system-out", "system-err"}
_CASE_CHILDREN = {
    "skipped",
    "failure",
    "system-out",
    "system-err",
    "rerunFailure",
    "rerunError",
    "flakyFailure",
    "flakyError",
}


class StructureError(AssertionError):
    pass


def check_structure(source: str | Path) -> None:
    """Raise StructureError naming the first rule a JUnit file (a path, or the XML text) breaks."""
    text = str(source)
    root = ET.fromstring(text) if text.lstrip().startswith("<") else ET.parse(text).getroot()
    if root.tag == "testsuites":
        _attributes(root, set(), _SUITES_ATTRIBUTES)
        for child in root:
            if child.tag != "testsuite":
                raise StructureError(f"<testsuites> holds <{child.tag}>, not only <testsuite>")
            _suite(child)
    elif root.tag == "testsuite":
        _suite(root)
    else:
        raise StructureError(f"the root element is <{root.tag}>, not <testsuites> or <testsuite>")


def _suite(suite: ET.Element) -> None:
    _attributes(suite, {"name", "tests", "failures", "errors"}, _SUITE_ATTRIBUTES)
    for child in suite:
        if child.tag not in _SUITE_CHILDREN:
            raise StructureError(f"<testsuite name={suite.get('name')!r}> holds <{child.tag}>")
        if child.tag == "testsuite":
            _suite(child)
        elif child.tag == "properties":
            for prop in child:
                if prop.tag != "property" or set(prop.attrib) != {"name", "value"}:
                    raise StructureError(f"<properties> holds <{prop.tag} {sorted(prop.attrib)}>")
        elif child.tag == "testcase":
            _attributes(child, {"name"}, _CASE_ATTRIBUTES)
            for part in child:
                if part.tag not in _CASE_CHILDREN:
                    raise StructureError(f"<testcase name={child.get('name')!r}> holds <{part.tag}>")


def _attributes(element: ET.Element, required: set[str], allowed: set[str]) -> None:
    missing, extra = required - set(element.attrib), set(element.attrib) - allowed
    if missing or extra:
        raise StructureError(
            f"<{element.tag} name={element.get('name')!r}>: missing {sorted(missing)}, not allowed {sorted(extra)}"
        )
    time = element.get("time")
    if time is not None and not _TIME.fullmatch(time):
        raise StructureError(f"<{element.tag} name={element.get('name')!r}>: time {time!r} is not a plain decimal")


class Conformance:
    """`validate(path or XML text)`: the structural rules always, the Jenkins schema where it is present."""

    def __init__(self, xsd: Path = XSD):
        self.schema = xmlschema.XMLSchema(str(xsd)) if xsd.is_file() else None

    def validate(self, source: str | Path) -> None:
        check_structure(source)
        if self.schema is not None:
            self.schema.validate(str(source))
