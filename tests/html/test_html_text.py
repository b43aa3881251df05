"""The pages' HTML text, read back with html.parser: escaped, self-contained, causes first. No browser needed."""

from __future__ import annotations

import re

import pytest
from dom import Dom
from html_samples import (
    ESC,
    HOSTILE,
    LOOPBACK,
    LOSSY_CHECK,
    check,
    hand_made,
    hostile,
    loopback,
    not_graded,
    passing,
    suite,
)

from grader import gradebook, html_report
from grader.model import Cause, StudentReport
from grader.names import shown

PAGES = {r.student: html_report.student_page(r) for r in hand_made()}
INDEX = html_report.class_page(hand_made())
ARROW_CLASSES = {
    "arrow",
    "copy",
    "delivered",
    "dropped",
    "duplicated",
    "repeated",
    "held",
    "delayed",
    "failed",
    "other",
}


@pytest.mark.parametrize("text", [*PAGES.values(), INDEX], ids=[*PAGES, "index"])
def test_every_page_forbids_scripts_and_outside_resources_in_its_policy(text):
    policy = Dom.parse(text).one("meta", http_equiv="Content-Security-Policy")
    assert policy.attrs["content"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@pytest.mark.parametrize("text", [*PAGES.values(), INDEX], ids=[*PAGES, "index"])
def test_no_page_loads_anything_or_runs_anything(text):
    dom = Dom.parse(text)
    assert not dom.select("script") and not dom.select("link") and not dom.select("img") and not dom.select("iframe")
    assert not [e for e in dom.elements if any(name.startswith("on") for name in e.attrs)]
    assert not [e for e in dom.elements if "src" in e.attrs]
    links = [e.attrs["href"] for e in dom.select("a")]
    assert all(not re.match(r"[a-z]+:", href) for href in links), links  # only pages of the folder and anchors


def test_a_programs_hostile_output_shows_as_the_text_it_is():
    dom = Dom.parse(PAGES["mallory"])
    text = dom.text()
    assert shown(HOSTILE) in text  # every field: summary, cause, where, steps, notes, evidence
    assert ESC not in PAGES["mallory"] and "\\x1b[31m" in text


def test_a_hostile_fate_never_becomes_a_class_or_an_attribute_of_its_own():
    dom = Dom.parse(PAGES["mallory"])
    arrows = dom.select("line", "arrow")
    assert arrows and all(a.classes <= ARROW_CLASSES for a in arrows)
    assert all(set(e.attrs) <= {"class", "x1", "y1", "x2", "y2"} for e in arrows)


def test_the_student_page_names_the_root_cause_once_before_every_check_section():
    dom = Dom.parse(PAGES["bob"])
    causes = dom.select("li", "cause", inside=dom.one("section", id="causes"))
    assert [c.attrs["data-key"] for c in causes] == ["loopback-bind"]
    covered = [a.attrs["href"] for a in dom.select("a", inside=causes[0])]
    assert covered == [
        f"#check-{c}" for c in ("udp_server.basic", "udp_server.non_ascii", "udp_server.two_clients", LOSSY_CHECK)
    ]
    first_check = dom.select("section", "check")[0]
    assert dom.position(causes[0]) < dom.position(first_check)
    assert "8 points" in "".join(causes[0].text) and "serverSocket.bind" in "".join(
        dom.one("code", inside=causes[0]).text
    )


def test_an_advisory_is_listed_apart_and_costs_no_points():
    dom = Dom.parse(PAGES["bob"])
    advisory = dom.one("li", "cause", data_key="truncated-reply")
    assert advisory.within(dom.one("section", id="advisories")) and "points" not in "".join(advisory.text)


def test_every_check_has_a_section_with_its_status_and_every_anchor_points_at_one():
    dom = Dom.parse(PAGES["bob"])
    sections = {s.attrs["id"]: s.classes for s in dom.select("section", "check")}
    assert sections["check-udp_server.basic"] == {"check", "failed"}
    assert sections["check-tcp_server.basic"] == {"check", "passed"}
    assert sections["check-udp_server.long_line"] == {"check", "failed", "advisory"}
    causes = {li.attrs["id"] for li in dom.select("li", "cause")}
    targets = {a.attrs["href"][1:] for a in dom.select("a") if a.attrs["href"].startswith("#")}
    assert targets <= set(sections) | causes


def test_a_failed_check_points_to_its_cause_above_instead_of_repeating_it():
    dom = Dom.parse(PAGES["bob"])
    basic = dom.one("section", id="check-udp_server.basic")
    [why] = [p for p in dom.select("p", "why") if p.within(basic)]
    [link] = [a for a in dom.select("a") if a.within(why)]
    assert link.attrs["href"] == "#cause-1" and "127.0.0.1" not in "".join(why.text)


def test_a_check_with_steps_gets_one_diagram_and_a_lossy_one_shows_its_dropped_datagram():
    report = loopback()
    dom = Dom.parse(html_report.student_page(report))
    for result in report.checks:
        section = dom.one("section", id=f"check-{result.check_id}")
        assert len(dom.select("svg", "sequence", inside=section)) == (1 if result.steps else 0), result.check_id
    lossy = dom.one("section", id=f"check-{LOSSY_CHECK}")
    arrows = dom.select("line", "arrow", inside=lossy)
    assert len(arrows) == len(report.checks[3].steps) + 1  # the duplicate is drawn twice
    assert dom.select("line", "arrow", "dropped", inside=lossy) and dom.select("path", "cross", inside=lossy)
    assert {"duplicated", "held", "delayed"} <= {c for a in arrows for c in a.classes}


def test_each_arrow_has_its_time_label():
    dom = Dom.parse(PAGES["bob"])
    lossy = dom.one("section", id=f"check-{LOSSY_CHECK}")
    times = ["".join(t.text) for t in dom.select("text", "time", inside=lossy)]
    assert times == ["0.000 s", "1.000 s", "1.002 s", "1.003 s", "1.004 s", "1.005 s", "1.200 s"]


def test_a_passed_checks_diagram_is_folded_away_and_a_failed_ones_is_not():
    dom = Dom.parse(PAGES["alice"])
    folds = dom.select("details", "diagram")
    assert len(folds) == 2 and all(any(svg.within(d) for d in folds) for svg in dom.select("svg", "sequence"))
    failed = Dom.parse(PAGES["bob"])
    assert not failed.select("details", "diagram", inside=failed.one("section", id="check-udp_server.basic"))


def test_evidence_is_folded_in_a_details_element_with_line_breaks_kept():
    dom = Dom.parse(PAGES["bob"])
    details = dom.select("details", "evidence", inside=dom.one("section", id="check-udp_server.basic"))
    assert len(details) == 1 and "sent 1 datagram, received 0\nseed 7" in "".join(details[0].text)


def test_a_grader_error_page_says_not_graded_and_gives_no_score():
    text = html_report.student_page(not_graded())
    dom = Dom.parse(text)
    assert "Not graded" in dom.text() and "docker: engine went away" in dom.text() and "Score" not in dom.text()


def test_the_class_page_lists_a_grader_error_as_not_graded_not_zero():
    dom = Dom.parse(INDEX)
    carol = next(row for row in dom.select("tr", "student") if "carol" in "".join(row.text))
    assert "not graded" in "".join(carol.text) and "0/12" not in "".join(carol.text)
    assert "4 students, 3 graded, 1 not graded" in dom.text()


def test_the_histogram_counts_each_graded_student_once_in_their_tenth():
    counts = [int(bar.attrs["data-count"]) for bar in Dom.parse(INDEX).select("rect", "bar")]
    assert len(counts) == 10 and sum(counts) == 3
    assert (counts[0], counts[1], counts[9]) == (1, 1, 1)  # mallory 0 %, bob 16.7 %, alice 100 %


def test_the_pass_rate_of_a_check_counts_the_students_whose_check_ran():
    rows = {"".join(r.text).split("\n")[0]: "".join(r.text) for r in Dom.parse(INDEX).select("tr", "pass-rate")}
    basic = next(text for key, text in rows.items() if key.startswith("udp_server.basic"))
    assert "1/3" in basic and "33 %" in basic


def test_the_most_common_causes_count_students_by_cause_key_with_an_example():
    two = [loopback(), StudentReport("dave", 0.0, 2.0, {}, loopback().checks[:1])]
    dom = Dom.parse(html_report.class_page([*two, passing()]))
    first = dom.select("tr", "common-cause")[0]
    cells = [c for c in dom.select("td", inside=first)]
    assert first.attrs["data-key"] == "loopback-bind"
    assert ["".join(c.text) for c in cells[:3]] == ["loopback-bind", "2", "5"]
    assert "bind to ''" in "".join(cells[3].text)


@pytest.mark.parametrize(
    ("student", "href"), [("alice", "alice.html"), ("a b#c (1)", "a%20b%23c%20%281%29.html"), ("index", "~index.html")]
)
def test_links_to_a_students_page_are_quoted_and_never_the_class_page(student, href):
    report = StudentReport(student, 1.0, 1.0)
    pages = html_report.pages([report])
    assert Dom.parse(pages["index.html"]).one("a", "student").attrs["href"] == href
    assert len(pages) == 2 and "index.html" in pages


def test_publish_writes_the_class_page_and_one_page_per_student_from_their_suites(tmp_path):
    made = [hostile(), passing(), not_graded()]
    written = gradebook.publish(tmp_path, [suite(r) for r in made])
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == [
        "alice.html",
        "carol.html",
        "index.html",
        "mallory.html",
    ]
    for report in written:
        page = (tmp_path / "html" / f"{report.student}.html").read_text(encoding="utf-8")
        assert page == html_report.student_page(report)
    assert (tmp_path / "html" / "index.html").read_text(encoding="utf-8") == html_report.class_page(written)


def test_a_hostile_report_read_back_from_junit_still_shows_its_output_as_text(tmp_path):
    gradebook.publish(tmp_path, [suite(hostile())])
    dom = Dom.parse((tmp_path / "html" / "mallory.html").read_text(encoding="utf-8"))
    assert not dom.select("script") and "<script>alert(1)</script>" in dom.text()


def test_failures_no_rule_explains_are_grouped_by_what_they_say_not_as_one_cause():
    missing = StudentReport(
        "erin", 0.0, 4.0, {}, (check("tcp_server.basic", False, summary="no tcp_server found in the submission"),)
    )
    odd = StudentReport("fay", 0.0, 2.0, {}, (check("udp_server.basic", False, summary="something else"),))
    rows = html_report.common_causes([missing, odd, loopback()])
    assert [(r.key, r.example, r.students) for r in rows if r.key == "unexplained"] == [
        ("unexplained", "no tcp_server found in the submission", 1),
        ("unexplained", "something else", 1),
    ]


def test_a_students_causes_of_one_key_count_them_once_with_all_their_checks():
    elsewhere = Cause(LOOPBACK.key, LOOPBACK.text, None)  # the same cause, found without a line of code
    report = loopback()
    extra = check("udp_server.listening", False, cause=elsewhere, points=0.0)
    rows = html_report.common_causes([StudentReport("bob", 2.0, 14.0, {}, (*report.checks, extra))])
    assert [(r.key, r.students, r.checks) for r in rows if r.key == LOOPBACK.key] == [(LOOPBACK.key, 1, 5)]
