"""The pages as headless Chromium builds and draws them: what a browser really runs, shows and links to."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from dom import Dom
from html_samples import HOSTILE, LOSSY_CHECK
from png_check import read_png

from grader.names import shown

SIZE = (1200, 2000)


@pytest.fixture(scope="module")
def doms(hand_made_pages, dump_dom) -> dict[str, Dom]:
    return {page.stem: Dom.parse(dump_dom(page)) for page in sorted(hand_made_pages.glob("*.html"))}


def test_the_causes_come_before_the_check_sections(doms):
    dom = doms["bob"]
    causes = dom.select("li", "cause", inside=dom.one("section", id="causes"))
    checks = dom.select("section", "check")
    assert len(causes) == 1 and len(checks) == 6
    assert dom.position(causes[0]) < min(dom.position(c) for c in checks)


def test_each_exchange_check_has_one_sequence_diagram(doms, hand_made_reports):
    bob = next(r for r in hand_made_reports if r.student == "bob")
    dom = doms["bob"]
    for check in bob.checks:
        section = dom.one("section", id=f"check-{check.check_id}")
        assert len(dom.select("svg", "sequence", inside=section)) == (1 if check.steps else 0), check.check_id


def test_a_lossy_check_draws_its_dropped_datagram(doms):
    dom = doms["bob"]
    lossy = dom.one("section", id=f"check-{LOSSY_CHECK}")
    assert len(dom.select("line", "arrow", "dropped", inside=lossy)) == 1
    assert len(dom.select("path", "cross", inside=lossy)) == 1


def test_student_output_never_becomes_a_script_or_an_element(doms):
    dom = doms["mallory"]
    assert dom.select("script") == [] and dom.select("img") == []
    assert not [e for e in dom.elements if any(name.startswith("on") for name in e.attrs)]
    assert shown(HOSTILE) in dom.text()


def test_the_svg_survives_a_closing_svg_tag_in_the_output(doms):
    dom = doms["mallory"]
    svg = dom.one("svg", "sequence")
    labels = dom.select("text", "label", inside=svg)
    assert len(labels) == 3 and "</svg><script>" in "".join(labels[1].text)


def test_the_class_pages_links_resolve_to_pages_that_exist(doms, hand_made_pages):
    links = [a.attrs["href"] for a in doms["index"].select("a", "student")]
    assert len(links) == 4
    for href in links:
        assert (hand_made_pages / unquote(urlparse(href).path)).is_file(), href


def test_a_student_not_graded_is_listed_as_such_on_the_class_page(doms):
    rows = ["".join(row.text) for row in doms["index"].select("tr", "student")]
    carol = next(row for row in rows if "carol" in row)
    assert "not graded" in carol and "/" not in carol


@pytest.mark.parametrize("page", ["bob", "index"])
def test_a_screenshot_is_a_png_of_the_window_size_that_shows_something(page, hand_made_pages, browse, tmp_path):
    shot = tmp_path / f"{page}.png"
    browse(hand_made_pages / f"{page}.html", f"--screenshot={shot}", f"--window-size={SIZE[0]},{SIZE[1]}")
    png = read_png(shot.read_bytes())
    assert (png.width, png.height) == SIZE and not png.blank


def test_a_blank_screenshot_would_be_told_apart(browse, tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    shot = tmp_path / "blank.png"
    browse(page, f"--screenshot={shot}", "--window-size=300,200")
    assert read_png(shot.read_bytes()).blank


# ------------------------------------------------------------------ a class graded for real


@pytest.fixture(scope="module")
def real_class(graded_class, dump_dom) -> tuple[Path, list, dict[str, Dom]]:
    folder, reports = graded_class
    return folder, reports, {page.stem: Dom.parse(dump_dom(page)) for page in sorted(folder.glob("*.html"))}


@pytest.mark.docker
def test_a_graded_class_has_a_page_per_student_and_every_link_resolves(real_class):
    folder, reports, doms = real_class
    assert set(doms) == {"index", *(r.student for r in reports)}
    for href in (a.attrs["href"] for a in doms["index"].select("a", "student")):
        assert (folder / unquote(href)).is_file()


@pytest.mark.docker
def test_a_graded_students_page_has_a_diagram_for_each_exchange_and_its_causes_first(real_class):
    _, reports, doms = real_class
    for report in reports:
        dom = doms[report.student]
        with_steps = [c.check_id for c in report.checks if c.steps]
        assert with_steps, f"{report.student}: no check recorded its exchange"
        for check in report.checks:
            section = dom.one("section", id=f"check-{check.check_id}")
            assert len(dom.select("svg", "sequence", inside=section)) == (1 if check.steps else 0), check.check_id
        causes = dom.select("li", "cause")
        if report.failures:
            assert causes and dom.position(causes[0]) < dom.position(dom.select("section", "check")[0])


@pytest.mark.docker
def test_a_lossy_check_graded_for_real_shows_its_dropped_datagram(real_class):
    _, reports, doms = real_class
    textbook = next(r for r in reports if r.student == "textbook_udp_server")
    lossy = next(c for c in textbook.checks if any(s.fate == "dropped" for s in c.steps))
    dom = doms["textbook_udp_server"]
    section = dom.one("section", id=f"check-{lossy.check_id}")
    assert dom.select("line", "arrow", "dropped", inside=section)
