"""Causes recognised in a wrong reply or a server's exit: each named in words, with the fix."""

from __future__ import annotations

from grader.diagnose import exit_cause
from grader.model import ExitInfo
from grader.scenarios.common import explain_wrong_reply


def test_a_reply_with_a_label_around_the_line_says_what_is_extra():
    what, cause = explain_wrong_reply(b"From server: HELLO", b"HELLO", b"hello")
    assert what == 'the reply holds the expected line and more: "From server: " (13 bytes)'
    assert "only the upper-cased line" in cause.text


def test_a_reply_that_is_a_count_says_it_is_a_number():
    what, cause = explain_wrong_reply(b"5\n", b"HELLO\n", b"hello\n")
    assert what == "the reply is a number (5), not the line upper-cased"
    assert "not its length" in cause.text


def test_an_echo_is_still_an_echo():
    what, _ = explain_wrong_reply(b"hello", b"HELLO", b"hello")
    assert what == "the reply is the request unchanged"


def test_a_server_that_ends_by_itself_is_told_to_keep_serving():
    cause = exit_cause(ExitInfo(0))
    assert cause is not None and "while True" in cause.text


def test_a_server_killed_by_the_memory_limit_is_told_it_ran_out_of_memory():
    cause = exit_cause(ExitInfo(137, oom_killed=True))
    assert cause is not None and cause.key == "out-of-memory"


def test_a_server_killed_by_a_signal_gets_no_keep_serving_hint():
    assert exit_cause(ExitInfo(-9)) is None
