"""Recognise common causes of failure from what the grader observed. Pure functions.

Each returns a hint a student can act on, or None when nothing is recognised: a wrong
hint is worse than none.
"""

from __future__ import annotations

import re

from grader.model import ExitInfo
from grader.sandbox.sockets import BoundSocket

_PY2 = (
    re.compile(r"Missing parentheses in call to 'print'"),
    re.compile(r"NameError: name 'raw_input' is not defined"),
    re.compile(r"SyntaxError: .*print "),
    re.compile(r"^\s*print ['\"a-zA-Z]", re.MULTILINE),
)


def exit_hint(exit_info: ExitInfo) -> str | None:
    """Why a server that stopped on its own, with no error, stopped."""
    if exit_info.code == 0:
        return "the server exited after serving: keep it serving in a `while True:` loop around recvfrom / accept"
    return None


def last_error_line(output: str) -> str | None:
    lines = [line for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line.strip()
    return None


_FRAME = re.compile(
    r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in .*\n(?P<code>(?![ \t]*File ")[ \t]*\S.*)?', re.MULTILINE
)
# Where the program's own files are, inside a container or in a local run's copy.
_SUBMISSION_PATH = re.compile(r"(?:^|/)(?:submission|submission-\d+)/(?P<file>.+)$")


def student_line(output: str) -> str | None:
    """The student's line that raised, from the traceback's last frame in their files: `UDPServer.py line 7: code`."""
    own = [
        m for m in _FRAME.finditer(output) if _SUBMISSION_PATH.search(m["path"]) or not m["path"].startswith(("/", "<"))
    ]
    if not own:
        return None
    frame = own[-1]
    found = _SUBMISSION_PATH.search(frame["path"])
    name = found["file"] if found else frame["path"]
    code = (frame["code"] or "").strip()
    return f"{name} line {frame['line']}" + (f": {code}" if code else "")


def program_error_hint(output: str) -> str | None:
    """Why a program died, from its own output (traceback), with the student's line that raised when it names one."""
    hint = _program_error_cause(output)
    where = student_line(output)
    return f"{hint} (at {where})" if hint and where else hint


def _program_error_cause(output: str) -> str | None:
    if "SyntaxError" in output or "raw_input" in output:
        if any(p.search(output) for p in _PY2):
            return (
                "this is Python 2 syntax (print statement / raw_input); the grader runs Python 3: "
                "use print(...) and input()"
            )
    if "attribute 'bind' is read-only" in output or ("'tuple' object is not callable" in output and "bind" in output):
        return "`bind` is assigned instead of called: write serverSocket.bind(('', serverPort))"
    if "Address already in use" in output:
        return "the port is already in use: another program (or an earlier run) still holds it"
    if "UnicodeDecodeError" in output:
        return (
            "crashed on bytes that are not valid UTF-8: decode with errors='replace' "
            "or catch UnicodeDecodeError, so one bad datagram cannot stop the server"
        )
    if "ConnectionResetError" in output or "BrokenPipeError" in output:
        return "crashed when a client went away: catch ConnectionResetError / BrokenPipeError per connection"
    if (
        "gaierror" in output
        or "Name or service not known" in output
        or "Temporary failure in name resolution" in output
    ):
        return "the host name could not be resolved: use 'localhost' for the server's address"
    error = last_error_line(output)
    if error and error.startswith("IndexError") and "sys.argv" in output:
        return (
            "it reads sys.argv, and the grader starts it with no arguments: give each argument a default, "
            "e.g. serverPort = int(sys.argv[1]) if len(sys.argv) > 1 else 12000"
        )
    if error and error.startswith("EOFError"):
        return (
            "input() found no more lines: the grader types one line, so read one line, send it, print the reply "
            "and exit"
        )
    if error and error.startswith("ValueError") and re.search(r"int\(\s*input\(", output):
        return (
            "it reads a number (a port?) with input(), and the grader types only the sentence: "
            "write the server's name and port in the program"
        )
    if error:
        return f"the program stopped with {error}"
    return None


def listening_problem(sockets: list[BoundSocket], transport: str, port: int) -> tuple[str, str | None] | None:
    """(problem, hint or None) when the server is not listening where clients expect it; None if it is."""
    right = [s for s in sockets if s.transport == transport and s.port == port]
    if any(s.all_interfaces for s in right):
        return None
    name = transport.upper()
    if right:
        host = right[0].host
        reach = (
            "127.0.0.1 is loopback: nothing outside the machine can reach it"
            if right[0].loopback_only
            else f"only traffic addressed to {host} reaches it"
        )
        return (
            f"the {name} socket listens on {host}:{port} only",
            f"bound to {host}, and {reach}: bind to '' (all interfaces), as in serverSocket.bind(('', {port}))",
        )
    elsewhere = [s for s in sockets if s.transport == transport]
    if elsewhere:
        ports = ", ".join(str(s.port) for s in elsewhere)
        return (
            f"the {name} socket listens on port {ports}, not {port}",
            f"listening on port {ports}; the assignment uses port {port}: set serverPort = {port}",
        )
    other = "TCP" if transport == "udp" else "UDP"
    if any(s.port == port for s in sockets):
        return (
            f"port {port} is open for {other}, not {name}",
            f"the socket type is wrong: a {name} server needs {'SOCK_DGRAM' if transport == 'udp' else 'SOCK_STREAM'}",
        )
    return (
        (f"no {name} socket is bound", None)
        if not sockets
        else (f"no {name} socket is bound (found {', '.join(map(str, sockets))})", None)
    )
