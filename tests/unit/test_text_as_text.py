"""Requests and replies read as text in every report; a reply that upper-cased bytes says which letters it missed."""

from __future__ import annotations

import pytest

from grader.scenarios.common import explain_wrong_reply, show
from grader.scripted_server import uppercase


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("ñandú".encode(), '"ñandú" (7 bytes)'),
        (b"hello world", '"hello world" (11 bytes)'),
        (b"a\x00b\x1b[2J", '"a\\x00b\\x1b[2J" (7 bytes)'),
        (b"line\r\n", '"line\\r\\n" (6 bytes)'),
        (b"caf\xe9", '"caf\\xe9" (4 bytes)'),
        (b'say "hi" \\ bye', '"say \\"hi\\" \\\\ bye" (14 bytes)'),
    ],
    ids=["non-ASCII text", "ASCII", "controls", "line break", "a byte that is not UTF-8", "quotes and backslash"],
)
def test_bytes_show_as_the_text_they_hold_with_only_the_unprintable_escaped(data, shown):
    assert show(data) == shown


def test_a_long_payload_is_cut_and_says_its_whole_size():
    assert show(b"x" * 70, limit=5) == '"xxxxx"… (70 bytes)'


def test_a_server_that_upper_cases_bytes_is_told_which_letters_it_missed_and_why():
    request = "ñandú garçon".encode()
    what, cause = explain_wrong_reply(request.upper(), uppercase(request), request)
    assert what.startswith("ç, ñ and ú were not upper-cased: the server upper-cases the bytes")
    assert (
        cause is not None and cause.text == "decode first, then upper-case the text: message.decode().upper().encode()"
    )


def test_a_reply_that_upper_cases_only_some_ascii_is_not_taken_for_byte_upper_casing():
    request = "ñandú abc".encode()
    what, _ = explain_wrong_reply("ñandú ABc".encode(), uppercase(request), request)
    assert "not upper-cased" not in what
