"""Reading the verdict line each hostile program carries, and comparing a grading against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_verdicts import CheckVerdict, VerdictLineError, mismatches, parse_verdict_line, read_expected

from grader.model import Role

CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.py"))
LINE = (
    "# @EXPECTED_RESULTS@: score=1 causes=unexplained "
    'udp_server.listening=passed udp_server.basic=failed~"no reply at all"'
)


def test_a_verdict_line_gives_the_score_the_causes_the_role_and_each_checks_status_and_phrase():
    expected = parse_verdict_line("cpu_spin", LINE)
    assert (expected.score, expected.role, expected.file_name) == (1, Role.UDP_SERVER, "UDPServer.py")
    assert expected.causes == {"unexplained"}
    assert expected.checks == {
        "udp_server.listening": CheckVerdict("passed"),
        "udp_server.basic": CheckVerdict("failed", "no reply at all"),
    }


@pytest.mark.parametrize(
    "line",
    [
        "# expected: score=1 udp_server.basic=failed",
        "# @EXPECTED_RESULTS@: udp_server.basic=failed",
        "# @EXPECTED_RESULTS@: score=1 causes=none",
        "# @EXPECTED_RESULTS@: score=1 causes=none udp_server.basic=broken",
        "# @EXPECTED_RESULTS@: score=1 causes=none udp_server.basic=failed tcp_server.basic=failed",
        "# @EXPECTED_RESULTS@: score=1 causes=none udp_server.basic",
        "# @EXPECTED_RESULTS@: score=1 udp_server.basic=failed",
    ],
)
def test_a_broken_verdict_line_is_refused(line):
    with pytest.raises(VerdictLineError):
        parse_verdict_line("broken", line)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_corpus_program_carries_a_readable_verdict(path):
    assert read_expected(path).checks


def test_the_corpus_has_every_kind_of_hostile_program_the_issue_names():
    names = {p.stem for p in CORPUS}
    assert {
        "fork_bomb",
        "memory_bomb",
        "cpu_spin",
        "sleeps_before_bind",
        "output_flood",
        "disk_fill",
        "daemon",
        "fake_reports",
        "many_sockets",
        "datagram_flood",
        "reply_from_other_socket",
        "accept_never_read",
        "never_close",
        "sends_endlessly",
        "probe_neighbours",
    } <= names


def test_a_grading_that_matches_has_no_mismatch():
    expected = parse_verdict_line("cpu_spin", LINE)
    graded = {"udp_server.listening": ("passed", "listening"), "udp_server.basic": ("failed", "no reply at all")}
    assert mismatches(expected, 1, {"unexplained"}, graded) == []


def test_every_difference_is_named():
    expected = parse_verdict_line("cpu_spin", LINE)
    graded = {"udp_server.listening": ("failed", "not listening"), "udp_server.basic": ("failed", "wrong reply")}
    assert mismatches(expected, 0, {"no-timeout"}, graded) == [
        "score 0, expected 1",
        "causes no-timeout, expected unexplained",
        "udp_server.listening: failed, expected passed (not listening)",
        "udp_server.basic: summary 'wrong reply' lacks 'no reply at all'",
    ]
