"""Any name made safe: report keys for files, XML and CSV; escapes for the terminal; cells no spreadsheet runs."""

from __future__ import annotations

import os

import pytest

from grader.names import MAX_KEY_CHARS, csv_cell, report_key, shown, terminal_text

HOSTILE = [
    os.fsdecode(b"caf\xe9-latin1"),  # a folder name that is not UTF-8
    "x" * 252,
    "eve\x1b[2Jclear",
    '=HYPERLINK("http://x")',
    "+1",
    "-x",
    "@SUM(A1)",
    "..",
    "line\nbreak",
    "bidi\u202eevil",
    "",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_report_key_is_printable_bounded_and_starts_with_no_option_or_formula_character(name):
    key = report_key(name)
    assert key.isprintable() and key.encode("utf-8")
    assert len(key) <= MAX_KEY_CHARS
    assert not key.startswith(("-", ".", "=", "+", "@", " "))


def test_an_ordinary_name_is_its_own_key():
    assert report_key("Ana Müller_5002") == "Ana Müller_5002"


def test_names_that_differ_only_in_what_a_key_cannot_hold_get_different_keys():
    assert report_key("eve\x1b") != report_key("eve\x07") != report_key("eve_")
    assert report_key("x" * 252) != report_key("x" * 251)


def test_shown_writes_control_characters_and_undecodable_bytes_as_escapes():
    assert shown("eve\x1b[2J") == "eve\\x1b[2J"
    assert shown(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert len(shown("y" * 1000, 50)) == 50


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_a_csv_cell_that_a_spreadsheet_would_run_starts_with_a_quote(text):
    assert csv_cell(text) == "'" + text


def test_an_ordinary_csv_cell_is_unchanged():
    assert csv_cell("Ana Müller") == "Ana Müller"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ascii, as most reports are", "plain ascii, as most reports are"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),
        ("an ESC \x1b[2J among plain text", "an ESC \\x1b[2J among plain text"),
        ("a bidi override \u202e here", "a bidi override \\u202e here"),
        ("ñandú stays as typed", "ñandú stays as typed"),
    ],
)
def test_terminal_text_keeps_plain_text_and_line_breaks_and_escapes_the_rest(text, expected):
    assert terminal_text(text) == expected


def test_shown_cuts_plain_text_at_its_limit_too():
    assert shown("x" * 30, 10) == "x" * 9 + "…"
