"""Recognise common causes of failure from what the grader observed. Pure functions.

Each returns a Cause a student can act on, or None when nothing is recognised: a wrong
cause is worse than none. A cause's key is stable (class pages count students by it); its
`where` is the student's own line, from a traceback or from a look at the source.
"""

from __future__ import annotations

import re

from grader.model import NO_SOURCE, Cause, ExitInfo, Source
from grader.sandbox.sockets import BoundSocket

MAX_CODE_CHARS = 120  # of a student's line quoted in a cause: it is repeated in every report of the check
MAX_OUTPUT_CHARS = 64 * 1024  # of a program's output read for a cause: what ended it is at the end
TRACEBACK = "Traceback (most recent call last):"

_PY2 = (
    re.compile(r"Missing parentheses in call to 'print'"),
    re.compile(r"NameError: name 'raw_input' is not defined"),
    re.compile(r"SyntaxError: .*print "),
    re.compile(r"^[ \t]*print ['\"a-zA-Z]", re.MULTILINE),  # [ \t], not \s: no scan across blank lines
)


def exit_cause(exit_info: ExitInfo, source: Source = NO_SOURCE) -> Cause | None:
    """Why a server that stopped with no error of its own stopped: the memory limit, or it ended by itself."""
    if exit_info.oom_killed:
        return memory_cause(exit_info)
    if exit_info.code == 0:
        return Cause(
            "exits-after-serving",
            "the server exited after serving: keep it serving in a `while True:` loop around recvfrom / accept",
            source_line(source, r"\.(recvfrom|accept)\("),
        )
    return None


def memory_cause(exit_info: ExitInfo) -> Cause | None:
    if not exit_info.oom_killed:
        return None
    return Cause(
        "out-of-memory",
        "the program ran out of memory and was killed: the grader runs it under a memory limit, "
        "so keep what it stores bounded (read one message, reply, forget it)",
    )


def source_line(source: Source, pattern: str) -> str | None:
    """`FILE line N: code` for the first line of the student's source that matches, outside comments."""
    found = re.compile(pattern)
    for number, line in enumerate(source.text.splitlines(), 1):
        if found.search(line.split("#", 1)[0]):
            return f"{source.name} line {number}: {line.strip()[:MAX_CODE_CHARS]}"
    return None


def last_error_line(output: str) -> str | None:
    lines = [line for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line.strip()[:MAX_CODE_CHARS]
    return None


# [ \t] and [^"\n], not \s and [^"]: a frame is one line (a path cannot forge lines of the
# grader's output), and no match scans on across every blank line after it.
_FRAME = re.compile(
    r'^[ \t]*File "(?P<path>[^"\n]+)", line (?P<line>\d+)(?:, in .*)?\n(?P<code>(?![ \t]*File ")[ \t]*\S.*)?',
    re.MULTILINE,
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
    code = (frame["code"] or "").strip()[:MAX_CODE_CHARS]
    return f"{name[:MAX_CODE_CHARS]} line {frame['line'][:9]}" + (f": {code}" if code else "")


def last_traceback(output: str) -> str:
    """What ended the program: its output from its last traceback on, or "" when it printed none.

    An error a program caught and logged before it went on is not why it ended. A tail of
    output may start inside a traceback (at a frame), and a SyntaxError, raised before the
    program ran, prints frames with no "Traceback" line.
    """
    tail = output[-MAX_OUTPUT_CHARS:]
    at = tail.rfind(TRACEBACK)
    if at >= 0:
        return tail[at:]
    frame = _FRAME.search(tail)
    return tail[frame.start() :] if frame else ""


def program_error_cause(output: str) -> Cause | None:
    """Why a program died, from the traceback that ended it, with the student's line that raised when it names one."""
    traceback = last_traceback(output)
    found = _program_error(traceback) if traceback else None
    if found is None:
        return None
    key, text = found
    return Cause(key, text, student_line(traceback))


def _program_error(output: str) -> tuple[str, str] | None:
    if "SyntaxError" in output or "raw_input" in output:
        if any(p.search(output) for p in _PY2):
            return (
                "python2",
                "this is Python 2 syntax (print statement / raw_input); the grader runs Python 3: "
                "use print(...) and input()",
            )
    if "attribute 'bind' is read-only" in output or ("'tuple' object is not callable" in output and "bind" in output):
        return "bind-assigned", "`bind` is assigned instead of called: write serverSocket.bind(('', serverPort))"
    if "Address already in use" in output:
        return "port-in-use", "the port is already in use: another program (or an earlier run) still holds it"
    if "UnicodeDecodeError" in output:
        return (
            "crash-non-utf8",
            "crashed on bytes that are not valid UTF-8: decode with errors='replace' "
            "or catch UnicodeDecodeError, so one bad datagram cannot stop the server",
        )
    if "ConnectionResetError" in output or "BrokenPipeError" in output:
        return (
            "crash-client-gone",
            "crashed when a client went away: catch ConnectionResetError / BrokenPipeError per connection",
        )
    if (
        "gaierror" in output
        or "Name or service not known" in output
        or "Temporary failure in name resolution" in output
    ):
        return "unresolved-host", "the host name could not be resolved: use 'localhost' for the server's address"
    error = last_error_line(output)
    if error and error.startswith("IndexError") and "sys.argv" in output:
        return (
            "argv-no-default",
            "it reads sys.argv, and the grader starts it with no arguments: give each argument a default, "
            "e.g. serverPort = int(sys.argv[1]) if len(sys.argv) > 1 else 12000",
        )
    if error and error.startswith("EOFError"):
        return (
            "input-eof",
            "input() found no more lines: the grader types one line, so read one line, send it, print the reply "
            "and exit",
        )
    if error and error.startswith("ValueError") and re.search(r"int\(\s*input\(", output):
        return (
            "port-from-input",
            "it reads a number (a port?) with input(), and the grader types only the sentence: "
            "write the server's name and port in the program",
        )
    if error:
        return "program-error", f"the program stopped with {error}"
    return None


def listening_problem(
    sockets: list[BoundSocket], transport: str, port: int, source: Source = NO_SOURCE
) -> tuple[str, Cause | None] | None:
    """(what the grader saw, cause or None) when the server is not listening where clients expect it; None if it is."""
    right = [s for s in sockets if s.transport == transport and s.port == port]
    if any(s.all_interfaces for s in right):
        return None
    name = transport.upper()
    bind_line = source_line(source, r"\.bind\(")
    if right:
        host = right[0].host
        # The student's line, when found, already shows the address: it is named once.
        shown = bool(bind_line and host in bind_line)
        if right[0].loopback_only:
            address = "loopback" if shown else f"{host} (loopback)"
            text = f"bound to {address} only, which nothing outside the machine can reach"
            key = "loopback-bind"
        else:
            address = "one address" if shown else host
            text = f"bound to {address} only, and only traffic addressed to it reaches it"
            key = "one-address-bind"
        return (
            f"the {name} socket listens on {host}:{port} only",
            Cause(key, f"{text}: bind to '' (all interfaces), as in serverSocket.bind(('', {port}))", bind_line),
        )
    elsewhere = [s for s in sockets if s.transport == transport]
    if elsewhere:
        ports = ", ".join(str(s.port) for s in elsewhere)
        return (
            f"the {name} socket listens on port {ports}, not {port}",
            Cause(
                "wrong-port",
                f"listening on port {ports}; the assignment uses port {port}: set serverPort = {port}",
                source_line(source, rf"\b({'|'.join(str(s.port) for s in elsewhere)})\b") or bind_line,
            ),
        )
    other = "TCP" if transport == "udp" else "UDP"
    if any(s.port == port for s in sockets):
        wanted = "SOCK_DGRAM" if transport == "udp" else "SOCK_STREAM"
        return (
            f"port {port} is open for {other}, not {name}",
            Cause(
                "wrong-socket-type",
                f"the socket type is wrong: a {name} server needs {wanted}",
                source_line(source, r"SOCK_(DGRAM|STREAM)"),
            ),
        )
    return (
        (f"no {name} socket is bound", None)
        if not sockets
        else (f"no {name} socket is bound (found {', '.join(map(str, sockets))})", None)
    )
