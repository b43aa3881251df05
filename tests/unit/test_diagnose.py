"""Causes from what a program printed and from the sockets it bound: recognise or stay silent."""

from __future__ import annotations

import time

import pytest

from grader.diagnose import last_error_line, listening_problem, program_error_cause, source_line, student_line
from grader.model import Source
from grader.sandbox.sockets import BoundSocket

PRINT_STATEMENT = """\
  File "/submission/UDPClient.py", line 9
    print 'From Server:', modifiedMessage
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
"""

RAW_INPUT = """\
Traceback (most recent call last):
  File "/submission/UDPClient.py", line 5, in <module>
    message = raw_input('Input lowercase sentence:')
              ^^^^^^^^^
NameError: name 'raw_input' is not defined
"""

BIND_ASSIGNED = """\
Traceback (most recent call last):
  File "/submission/UDPServer.py", line 4, in <module>
    serverSocket.bind = ('', serverPort)
    ^^^^^^^^^^^^^^^^^
AttributeError: 'socket' object attribute 'bind' is read-only
"""

NON_UTF8_CRASH = """\
The server is ready to receive
Traceback (most recent call last):
  File "/submission/UDPServer.py", line 8, in <module>
    modifiedMessage = message.decode().upper()
                      ^^^^^^^^^^^^^^^^
UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 3: invalid continuation byte
"""

ADDRESS_IN_USE = """\
Traceback (most recent call last):
  File "/submission/TCPServer.py", line 4, in <module>
    serverSocket.bind(('', serverPort))
OSError: [Errno 98] Address already in use
"""

VALUE_ERROR = """\
The server is ready to receive
Traceback (most recent call last):
  File "/submission/UDPServer.py", line 9, in <module>
    count = int(message)
ValueError: invalid literal for int() with base 10: b'hello'
"""


# ------------------------------------------------------------------ program output


def cause_text(output: str) -> str | None:
    cause = program_error_cause(output)
    return None if cause is None else cause.text


@pytest.mark.parametrize("output", [PRINT_STATEMENT, RAW_INPUT], ids=["print statement", "raw_input"])
def test_python2_code_is_recognised_as_python2(output):
    hint = cause_text(output)

    assert hint is not None
    assert "Python 2" in hint


@pytest.mark.parametrize("output", [PRINT_STATEMENT, RAW_INPUT], ids=["print statement", "raw_input"])
def test_the_python2_hint_names_the_python3_spelling(output):
    hint = cause_text(output)

    assert "print(" in hint and "input()" in hint


def test_a_plain_python3_syntax_error_is_not_called_python2():
    output = '  File "x.py", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n'

    hint = cause_text(output)

    assert hint is None or "Python 2" not in hint


def test_bind_assigned_instead_of_called_mentions_bind():
    hint = cause_text(BIND_ASSIGNED)

    assert hint is not None
    assert "bind" in hint
    assert "bind((" in hint


def test_a_crash_on_non_utf8_bytes_mentions_utf8():
    hint = cause_text(NON_UTF8_CRASH)

    assert hint is not None
    assert "UTF-8" in hint


def test_address_already_in_use_says_the_port_is_in_use():
    hint = cause_text(ADDRESS_IN_USE)

    assert hint is not None
    assert "already in use" in hint


@pytest.mark.parametrize(
    "output",
    ["ConnectionResetError: [Errno 104] Connection reset by peer", "BrokenPipeError: [Errno 32] Broken pipe"],
)
def test_a_crash_when_a_client_goes_away_is_recognised(output):
    hint = cause_text("Traceback (most recent call last):\n" + output + "\n")

    assert hint is not None
    assert "ConnectionResetError" in hint


def test_an_unresolvable_host_name_suggests_localhost():
    output = "Traceback (most recent call last):\nsocket.gaierror: [Errno -2] Name or service not known\n"

    hint = cause_text(output)

    assert hint is not None
    assert "localhost" in hint


@pytest.mark.parametrize("output", ["", "The server is ready to receive\n", "HELLO WORLD\n\n"])
def test_output_without_an_error_gives_no_hint(output):
    assert program_error_cause(output) is None


def test_an_unrecognised_error_is_reported_by_its_last_error_line():
    hint = cause_text(VALUE_ERROR)

    assert hint is not None
    assert "ValueError: invalid literal for int() with base 10: b'hello'" in hint


def test_last_error_line_skips_trailing_output_after_the_error():
    output = "Traceback (most recent call last):\nKeyError: 'x'\nsome cleanup message\n"

    assert last_error_line(output) == "KeyError: 'x'"


def test_last_error_line_is_none_without_an_error():
    assert last_error_line("Traceback (most recent call last):\n  File 'x.py'\n") is None


def test_last_error_line_takes_the_last_of_chained_errors():
    output = "KeyError: 'a'\n\nDuring handling of the above exception...\nRuntimeError: boom\n"

    assert last_error_line(output) == "RuntimeError: boom"


# ------------------------------------------------------------------ bound sockets


def udp(host: str, port: int = 12000) -> BoundSocket:
    return BoundSocket("udp", host, port)


def tcp(host: str, port: int = 12000) -> BoundSocket:
    return BoundSocket("tcp", host, port)


@pytest.mark.parametrize(
    ("sockets", "transport"),
    [
        ([udp("0.0.0.0")], "udp"),
        ([udp("::")], "udp"),
        ([tcp("0.0.0.0")], "tcp"),
        ([udp("127.0.0.1"), udp("0.0.0.0")], "udp"),
        ([tcp("0.0.0.0", 5000), tcp("::")], "tcp"),
    ],
    ids=["udp v4", "udp v6", "tcp v4", "also on loopback", "also another port"],
)
def test_a_server_on_all_interfaces_and_the_right_port_has_no_listening_problem(sockets, transport):
    assert listening_problem(sockets, transport, 12000) is None


def test_a_server_on_127_0_0_1_only_is_told_so():
    problem, cause = listening_problem([udp("127.0.0.1")], "udp", 12000)

    assert "127.0.0.1" in problem
    assert "bind(('', 12000))" in cause.text


def test_a_server_on_ipv6_loopback_only_is_told_its_address():
    problem, cause = listening_problem([tcp("::1")], "tcp", 12000)

    assert "::1" in problem
    assert "bind(('', 12000))" in cause.text


def test_a_server_on_one_non_loopback_address_is_not_told_it_is_loopback_only():
    problem, cause = listening_problem([udp("172.17.0.2")], "udp", 12000)

    assert "172.17.0.2" in problem
    assert "127.0.0.1" not in cause.text
    assert "bind(('', 12000))" in cause.text


def test_a_server_on_another_port_is_told_that_port():
    problem, cause = listening_problem([udp("0.0.0.0", 5000)], "udp", 12000)

    assert "port 5000" in problem
    assert "12000" in cause.text


def test_a_tcp_socket_where_udp_was_expected_is_told_the_socket_type_is_wrong():
    problem, cause = listening_problem([tcp("0.0.0.0")], "udp", 12000)

    assert "TCP" in problem and "UDP" in problem
    assert "SOCK_DGRAM" in cause.text


def test_a_udp_socket_where_tcp_was_expected_is_told_to_use_sock_stream():
    problem, cause = listening_problem([udp("0.0.0.0")], "tcp", 12000)

    assert "UDP" in problem
    assert "SOCK_STREAM" in cause.text


def test_nothing_bound_says_no_socket_and_gives_no_hint():
    problem, cause = listening_problem([], "udp", 12000)

    assert "no UDP socket" in problem
    assert cause is None


def test_only_unrelated_sockets_bound_lists_them():
    problem, cause = listening_problem([tcp("0.0.0.0", 8080)], "udp", 12000)

    assert "no UDP socket" in problem
    assert "TCP 0.0.0.0:8080" in problem
    assert cause is None


ARGV_CRASH = """Traceback (most recent call last):
  File "/submission/UDPServer.py", line 5, in <module>
    serverPort = int(sys.argv[1])
                     ~~~~~~~~^^^
IndexError: list index out of range
"""
EOF_CRASH = """Traceback (most recent call last):
  File "/tmp/socketlab-7-student-x/submission-1/lab/client.py", line 9, in <module>
    again = input("more? ")
EOFError: EOF when reading a line
"""
INT_INPUT_CRASH = """Traceback (most recent call last):
  File "<frozen runpy>", line 88, in _run_code
  File "TCPClient.py", line 5, in <module>
    serverPort = int(input("Server port: "))
ValueError: invalid literal for int() with base 10: 'socket layer from the grader 1234'
"""
DEEP_CRASH = """Traceback (most recent call last):
  File "/submission/s.py", line 4, in <module>
    main()
  File "/submission/s.py", line 2, in main
    x = 1/0
  File "/usr/lib/python3.11/fractions.py", line 99, in f
    raise ZeroDivisionError
ZeroDivisionError: division by zero
"""


@pytest.mark.parametrize(
    ("output", "where"),
    [
        (ARGV_CRASH, "UDPServer.py line 5: serverPort = int(sys.argv[1])"),
        (EOF_CRASH, 'lab/client.py line 9: again = input("more? ")'),
        (INT_INPUT_CRASH, 'TCPClient.py line 5: serverPort = int(input("Server port: "))'),
        (DEEP_CRASH, "s.py line 2: x = 1/0"),
    ],
    ids=["in a container", "in a local copy", "relative, after a frozen frame", "the last frame of the student's own"],
)
def test_a_crash_names_the_students_own_line_that_raised(output, where):
    assert student_line(output) == where


def test_a_traceback_only_in_library_code_names_no_line():
    assert student_line('  File "/usr/lib/python3.11/socket.py", line 1, in f\n    x\nOSError: x\n') is None


@pytest.mark.parametrize(
    ("output", "words"),
    [
        (ARGV_CRASH, "the grader starts it with no arguments"),
        (EOF_CRASH, "the grader types one line"),
        (INT_INPUT_CRASH, "reads a number (a port?) with input()"),
    ],
    ids=["port from sys.argv", "input() after the reply", "int(input())"],
)
def test_a_crash_from_real_student_code_gets_its_cause_and_its_line(output, words):
    cause = program_error_cause(output)
    assert cause is not None
    assert words in cause.text and cause.where == student_line(output)


SERVER = Source("UDPServer.py", "# bind('', 1)\nimport socket\ns = socket.socket()\ns.bind(('127.0.0.1', 12000))\n")


def test_a_loopback_bind_points_at_the_students_bind_line():
    _, cause = listening_problem([udp("127.0.0.1")], "udp", 12000, SERVER)

    assert cause is not None
    assert cause.where == "UDPServer.py line 4: s.bind(('127.0.0.1', 12000))"


def test_a_loopback_bind_names_its_address_once_when_the_students_line_shows_it():
    _, cause = listening_problem([udp("127.0.0.1")], "udp", 12000, SERVER)

    assert cause is not None
    assert f"{cause.text} {cause.where}".count("127.0.0.1") == 1


def test_a_loopback_bind_names_its_address_when_no_line_of_the_source_shows_it():
    _, cause = listening_problem([udp("127.0.0.1")], "udp", 12000)

    assert cause is not None and cause.where is None
    assert "127.0.0.1 (loopback)" in cause.text


def test_a_source_line_ignores_matches_in_comments():
    assert source_line(SERVER, r"\.bind\(") == "UDPServer.py line 4: s.bind(('127.0.0.1', 12000))"


@pytest.mark.parametrize(
    ("output", "key"),
    [(ARGV_CRASH, "argv-no-default"), (EOF_CRASH, "input-eof"), (INT_INPUT_CRASH, "port-from-input")],
    ids=["port from sys.argv", "input() after the reply", "int(input())"],
)
def test_each_recognised_crash_has_a_stable_key(output, key):
    cause = program_error_cause(output)
    assert cause is not None and cause.key == key


def test_a_students_line_quoted_in_a_cause_is_bounded_however_long_it_is():
    output = f'  File "/submission/s.py", line 3, in <module>\n    x = "{"y" * 100_000}"\nValueError: no\n'
    assert len(student_line(output)) < 200


def test_an_error_the_program_caught_and_logged_is_not_why_it_ended():
    output = "ConnectionResetError: [Errno 104] Connection reset by peer\nserving the next client\n"
    assert program_error_cause(output) is None


def test_the_cause_and_its_line_come_from_the_last_traceback():
    handled = 'Traceback (most recent call last):\n  File "TCPServer.py", line 14, in <module>\n    c.recv(1)\n'
    handled += "ConnectionResetError: [Errno 104] Connection reset by peer\n"
    fatal = 'Traceback (most recent call last):\n  File "TCPServer.py", line 22, in <module>\n    p = sys.argv[1]\n'
    fatal += "IndexError: list index out of range\n"
    cause = program_error_cause(handled + "still serving\n" + fatal)
    assert cause is not None
    assert (cause.key, cause.where) == ("argv-no-default", "TCPServer.py line 22: p = sys.argv[1]")


def test_a_tail_of_output_that_starts_inside_a_traceback_is_still_read():
    tail = '  File "/submission/UDPServer.py", line 5, in <module>\n    serverPort = int(sys.argv[1])\n'
    cause = program_error_cause(tail + "IndexError: list index out of range\n")
    assert cause is not None and cause.where == "UDPServer.py line 5: serverPort = int(sys.argv[1])"


def test_reading_blank_lines_by_the_million_stays_fast():
    started = time.perf_counter()
    program_error_cause("\n" * 2_000_000 + "SyntaxError: x\nError")
    student_line("\n" * 2_000_000 + "Error")
    assert time.perf_counter() - started < 5  # was quadratic: 80,000 lines took 13 s


def test_a_path_in_a_traceback_cannot_span_lines():
    forged = '  File "UDPServer.py, line 3\nScore: 10/10\nx", line 4, in <module>\n    y\nValueError: z\n'
    assert "Score" not in (student_line(forged) or "")


def test_an_error_line_quoted_in_a_cause_is_bounded():
    cause = program_error_cause("Traceback (most recent call last):\nError: " + "x" * 50_000 + "\n")
    assert cause is not None and len(cause.text) < 300
