"""Recognise common causes of failure from what the grader observed. Pure functions.

Each returns a hint a student can act on, or None when nothing is recognised: a wrong
hint is worse than none.
"""

from __future__ import annotations

import re

from grader.sandbox.sockets import BoundSocket

_PY2 = (
    re.compile(r"Missing parentheses in call to 'print'"),
    re.compile(r"NameError: name 'raw_input' is not defined"),
    re.compile(r"SyntaxError: .*print "),
    re.compile(r"^\s*print ['\"a-zA-Z]", re.MULTILINE),
)


def last_error_line(output: str) -> str | None:
    lines = [line for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line.strip()
    return None


def program_error_hint(output: str) -> str | None:
    """Why a program died, from its own output (traceback)."""
    if "SyntaxError" in output or "raw_input" in output:
        if any(p.search(output) for p in _PY2):
            return ("this is Python 2 syntax (print statement / raw_input); the grader runs Python 3: "
                    "use print(...) and input()")
    if "attribute 'bind' is read-only" in output or ("'tuple' object is not callable" in output and "bind" in output):
        return "`bind` is assigned instead of called: write serverSocket.bind(('', serverPort))"
    if "Address already in use" in output:
        return "the port is already in use: another program (or an earlier run) still holds it"
    if "UnicodeDecodeError" in output:
        return ("crashed on bytes that are not valid UTF-8: decode with errors='replace' "
                "or catch UnicodeDecodeError, so one bad datagram cannot stop the server")
    if "ConnectionResetError" in output or "BrokenPipeError" in output:
        return "crashed when a client went away: catch ConnectionResetError / BrokenPipeError per connection"
    if "gaierror" in output or "Name or service not known" in output or "Temporary failure in name resolution" in output:
        return "the host name could not be resolved: use 'localhost' for the server's address"
    error = last_error_line(output)
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
        reach = ("127.0.0.1 is loopback: nothing outside the machine can reach it" if right[0].loopback_only
                 else f"only traffic addressed to {host} reaches it")
        return (f"the {name} socket listens on {host}:{port} only",
                f"bound to {host}, and {reach}: bind to '' (all interfaces), "
                f"as in serverSocket.bind(('', {port}))")
    elsewhere = [s for s in sockets if s.transport == transport]
    if elsewhere:
        ports = ", ".join(str(s.port) for s in elsewhere)
        return (f"the {name} socket listens on port {ports}, not {port}",
                f"listening on port {ports}; the assignment uses port {port}: set serverPort = {port}")
    other = "TCP" if transport == "udp" else "UDP"
    if any(s.port == port for s in sockets):
        return (f"port {port} is open for {other}, not {name}",
                f"the socket type is wrong: a {name} server needs "
                f"{'SOCK_DGRAM' if transport == 'udp' else 'SOCK_STREAM'}")
    return (f"no {name} socket is bound", None) if not sockets else (
        f"no {name} socket is bound (found {', '.join(map(str, sockets))})", None)
