"""Causes recognised in a wrong reply or a server's exit: each named in words, with the fix."""

from __future__ import annotations

from grader.diagnose import exit_hint
from grader.model import ExitInfo
from grader.scenarios.common import explain_wrong_reply


def test_a_reply_with_a_label_around_the_line_says_what_is_extra():
    what, hint = explain_wrong_reply(b"From server: HELLO", b"HELLO", b"hello")
    assert what == 'the reply holds the expected line and more: "From server: " (13 bytes)'
    assert "only the upper-cased line" in hint


def test_a_reply_that_is_a_count_says_it_is_a_number():
    what, hint = explain_wrong_reply(b"5\n", b"HELLO\n", b"hello\n")
    assert what == "the reply is a number (5), not the line upper-cased"
    assert "not its length" in hint


def test_an_echo_is_still_an_echo():
    what, _ = explain_wrong_reply(b"hello", b"HELLO", b"hello")
    assert what == "the reply is the request unchanged"


def test_a_server_that_ends_by_itself_is_told_to_keep_serving():
    assert "while True" in exit_hint(ExitInfo(0))


def test_a_server_killed_by_a_signal_gets_no_keep_serving_hint():
    assert exit_hint(ExitInfo(-9)) is None
