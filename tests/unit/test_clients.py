"""Judging a client run: pure, from its output, its ending and what the scripted server saw."""

from __future__ import annotations

import base64

import pytest

from grader.model import NO_SOURCE, ExitInfo, Source
from grader.scenarios.client_exchange import ClientParams, ClientRun, _evidence, count_printed, judge, typed_line

LINE = "hello network"
REPLY = "HELLO NETWORK"
PY2 = (
    'File "UDPClient.py", line 5\n    print modifiedMessage\n    ^\n'
    "SyntaxError: Missing parentheses in call to 'print'\n"
)


def client(text: str) -> Source:
    return Source("UDPClient.py", text)


def run(stdout: str = "", stderr: str = "", code: int | None = 0, sent: bytes | None = LINE.encode()) -> ClientRun:
    """A client's run; the scripted server answered whatever it was sent, as in `normal`."""
    events = (
        []
        if sent is None
        else [
            {"event": "datagram", "t": 0.01, "size": len(sent), "data": base64.b64encode(sent).decode()},
            {"event": "reply", "t": 0.02, "size": len(sent), "data": base64.b64encode(sent.upper()).decode()},
        ]
    )
    return ClientRun(stdout, stderr, None if code is None else ExitInfo(code), 0.2, 6.0, events=events)


@pytest.mark.parametrize(
    "stdout", [f"{REPLY}\n", f"Input lowercase sentence:From Server:  {REPLY}\n", f"reply: {REPLY}!\n"]
)
def test_the_reply_counts_as_printed_behind_prompts_and_prefixes(stdout):
    assert judge("prints_reply", run(stdout), LINE, REPLY, NO_SOURCE).passed


def test_a_bytes_repr_is_not_a_printed_reply_and_says_so():
    verdict = judge("prints_reply", run(f"From Server: b'{REPLY}'\n"), LINE, REPLY, NO_SOURCE)
    assert (
        not verdict.passed and "bytes" in verdict.summary and "decode" in (verdict.cause.text if verdict.cause else "")
    )


def test_a_lowercase_echo_is_not_the_reply():
    verdict = judge("prints_reply", run(f"{LINE}\n"), LINE, REPLY, NO_SOURCE)
    assert not verdict.passed and "lower case" in verdict.summary


def test_a_duplicated_reply_printed_twice_fails_the_print_once_check():
    verdict = judge("prints_reply_once", run(f"{REPLY}\n{REPLY}\n"), LINE, REPLY, NO_SOURCE)
    assert not verdict.passed and "2 times" in verdict.summary


def test_a_client_that_crashed_at_start_has_not_exited_cleanly():
    verdict = judge("exits", run(stderr=PY2, code=1, sent=None), LINE, REPLY, client("print modifiedMessage"))
    assert not verdict.passed and "Python 2" in (verdict.cause.text if verdict.cause else "")


def test_a_killed_client_without_settimeout_gets_the_timeout_hint():
    verdict = judge("exits_within_budget", run(code=None), LINE, REPLY, client("clientSocket.recvfrom(2048)"))
    assert not verdict.passed and "settimeout" in (verdict.cause.text if verdict.cause else "")


def test_the_typed_line_must_reach_the_server():
    assert judge("sends_line", run(), LINE, REPLY, NO_SOURCE).passed
    assert not judge("sends_line", run(sent=b"something else"), LINE, REPLY, NO_SOURCE).passed


def test_no_server_with_a_traceback_is_not_a_clear_failure():
    verdict = judge(
        "clear_failure",
        run(stderr="Traceback (most recent call last):\nConnectionRefusedError\n", code=1, sent=None),
        LINE,
        REPLY,
        NO_SOURCE,
    )
    assert not verdict.passed


def test_a_client_hard_coded_to_another_machine_is_pointed_at_its_own_line():
    source = client("import socket\nserverName = '192.168.1.20'\n")
    unreachable = run(stderr="OSError: [Errno 101] Network is unreachable\n", code=1, sent=None)
    verdict = judge("sends_line", unreachable, LINE, REPLY, source)
    assert verdict.cause is not None
    assert verdict.cause.where == "UDPClient.py line 2: serverName = '192.168.1.20'"


def test_count_printed_ignores_occurrences_inside_bytes_reprs():
    assert count_printed(f"b'{REPLY}' and {REPLY}", REPLY) == 1


def test_the_typed_line_depends_only_on_the_seed():
    assert typed_line(7) == typed_line(7) != typed_line(8)


def test_an_unknown_behaviour_is_rejected():
    with pytest.raises(ValueError, match="behaviour"):
        ClientParams(behaviour="explode")


def test_a_client_that_prints_the_reply_without_the_server_sending_one_earns_nothing():
    line = typed_line(1)
    reply = line.upper()  # computable from the typed line alone: print(input().upper())
    run = ClientRun(stdout=f"From Server: {reply}\n", stderr="", exit=ExitInfo(0), duration=0.1, budget=6.0, events=[])
    verdict = judge("prints_reply", run, line, reply, NO_SOURCE)
    assert not verdict.passed and "never sent" in verdict.summary


def test_the_client_output_quoted_in_a_report_is_bounded_however_long_its_lines():
    run = ClientRun(
        stdout=("X" * 120_000 + "\n") * 8, stderr=("Y" * 120_000 + "\n") * 8, exit=ExitInfo(0), duration=0.1, budget=6.0
    )
    assert sum(map(len, _evidence(run, "a", "A"))) < 32_000


def test_a_client_hard_coded_to_another_machine_is_told_it_can_never_reach_a_graders_server():
    source = client("serverName = '192.168.1.20'\nserverPort = 12000\n")
    unreachable = run(stderr="OSError: [Errno 101] Network is unreachable\n", code=1, sent=None)
    verdict = judge("sends_line", unreachable, LINE, REPLY, source)
    assert not verdict.passed
    assert verdict.cause.text.startswith("the client sends to 192.168.1.20, another machine's address")


def test_a_loopback_address_in_the_client_is_not_taken_for_another_machine():
    source = client("serverName = '127.0.0.1'\n")
    verdict = judge("sends_line", run(stderr="OSError: boom\n", code=1, sent=None), LINE, REPLY, source)
    assert "another machine" not in (verdict.cause.text if verdict.cause else "")


@pytest.mark.parametrize("line", ["serverName = input('Server name: ')", "host=input()", "server_ip = input()"])
def test_a_host_name_read_with_input_is_named_when_it_does_not_resolve(line):
    unresolved = run(stderr=UNRESOLVED, code=1, sent=None)
    verdict = judge("sends_line", unresolved, LINE, REPLY, client(f"import socket\n{line}\n"))
    assert verdict.cause is not None and verdict.cause.key == "host-from-input"
    assert verdict.cause.where == f"UDPClient.py line 2: {line}"


def test_a_description_read_with_input_is_not_taken_for_the_host():
    unresolved = run(stderr=UNRESOLVED, code=1, sent=None)
    verdict = judge("sends_line", unresolved, LINE, REPLY, client("description = input()\n"))
    assert verdict.cause is not None and verdict.cause.key == "unresolved-host"


UNRESOLVED = """Traceback (most recent call last):
  File "UDPClient.py", line 9, in <module>
    clientSocket.sendto(message.encode(), (serverName, serverPort))
socket.gaierror: [Errno -2] Name or service not known
"""


def sliced(stdout: str) -> ClientRun:
    """A TCP client's run where the scripted server sent the reply in three slices."""
    pieces = [REPLY[:5], REPLY[5:10], REPLY[10:]]
    events = [
        {"event": "data", "t": 0.01, "conn": 0, "size": len(LINE), "data": base64.b64encode(LINE.encode()).decode()}
    ]
    events += [
        {
            "event": "reply",
            "t": 0.02 + n,
            "conn": 0,
            "size": len(p),
            "data": base64.b64encode(p.encode()).decode(),
            "piece": n,
        }
        for n, p in enumerate(pieces)
    ]
    return ClientRun(stdout, "", ExitInfo(0), 0.5, 6.0, events=events)


def test_a_client_that_printed_only_the_first_slice_of_a_reply_is_told_to_loop_on_recv():
    verdict = judge("prints_reply", sliced(f"From Server: {REPLY[:5]}\n"), LINE, REPLY, client("s.recv(1024)\n"))
    assert not verdict.passed
    assert verdict.cause is not None and verdict.cause.key == "one-recv-per-reply"
    assert verdict.cause.where == "UDPClient.py line 1: s.recv(1024)"


def test_a_client_that_printed_the_whole_sliced_reply_passes():
    assert judge("prints_reply", sliced(f"{REPLY}\n"), LINE, REPLY, NO_SOURCE).passed


def test_a_client_that_closed_after_the_first_slice_is_told_to_loop_on_recv():
    first_only = sliced(f"From Server: {REPLY[:5]}\n")
    first_only.events[2:] = []  # it closed: the server could send, and log, only the first piece
    verdict = judge("prints_reply", first_only, LINE, REPLY, NO_SOURCE)
    assert verdict.cause is not None and verdict.cause.key == "one-recv-per-reply"


def test_an_address_in_a_comment_is_not_taken_for_the_clients_server():
    source = client("# serverName = '192.168.1.20'\nserverName = 'localhost'\n")
    unreachable = run(stderr="OSError: [Errno 101] Network is unreachable\n", code=1, sent=None)
    verdict = judge("sends_line", unreachable, LINE, REPLY, source)
    assert verdict.cause is None or verdict.cause.key != "remote-address"


def test_a_hung_client_that_logged_errors_is_told_about_its_wait_not_an_error():
    retrying = run(stdout="Error: request timed out, retrying\n" * 3, code=None, sent=None)
    verdict = judge("exits", retrying, LINE, REPLY, client("s.settimeout(1)\ns.recvfrom(2048)\n"))
    assert verdict.cause is not None and verdict.cause.key == "hangs-after-timeout"
