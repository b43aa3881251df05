"""The `listening` kind: is the server bound to the assignment's port, on every interface?"""

from __future__ import annotations

from dataclasses import dataclass

from grader import diagnose
from grader.model import Role
from grader.scenarios.common import Verdict
from grader.scenarios.kind import Kind, ServerCheck


@dataclass(frozen=True)
class ListeningParams:
    """No parameters: the check reads the program's bound sockets."""


def run(check: ServerCheck) -> Verdict:
    transport = check.check.role.transport
    found = ", ".join(map(str, check.sockets)) or "none"
    problem = diagnose.listening_problem(check.sockets, transport, check.port, check.source)
    if problem is None:
        return Verdict(
            True, f"listening on {transport.upper()} port {check.port}, all interfaces", [f"bound sockets: {found}"]
        )
    return Verdict(False, problem[0], [f"bound sockets: {found}"], problem[1])


KIND = Kind("listening", frozenset({Role.UDP_SERVER, Role.TCP_SERVER}), ListeningParams, run)
