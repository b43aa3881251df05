"""The expected verdict each hostile program carries in its own first line, as contest judges keep theirs.

    # @EXPECTED_RESULTS@: score=1 causes=unexplained udp_server.basic=failed~"no reply at all"

`score=` is the whole submission's score under `uppercase`; `causes=` the root causes of what
cost points (`grader.report.root_causes` keys, comma-separated; `unexplained` for failures no
rule explains, `none` when nothing cost points); each `<check id>=<status>` names a check's
status, and `~"phrase"` a phrase its summary must contain. The role the program
plays is the role of the checks it names; it is graded under that role's textbook file name,
so discovery is not what is being tested here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from grader.model import Role

MARKER = "# @EXPECTED_RESULTS@:"
STATUSES = ("passed", "failed", "missing", "error")
FILE_NAMES = {
    Role.UDP_SERVER: "UDPServer.py",
    Role.TCP_SERVER: "TCPServer.py",
    Role.UDP_CLIENT: "UDPClient.py",
    Role.TCP_CLIENT: "TCPClient.py",
}


class VerdictLineError(ValueError):
    """A corpus file whose verdict line cannot be read."""


@dataclass(frozen=True)
class CheckVerdict:
    status: str
    phrase: str | None = None


@dataclass(frozen=True)
class Expected:
    program: str
    role: Role
    score: float
    causes: frozenset[str]
    checks: dict[str, CheckVerdict]

    @property
    def file_name(self) -> str:
        return FILE_NAMES[self.role]


def parse_verdict_line(program: str, line: str) -> Expected:
    if not line.startswith(MARKER):
        raise VerdictLineError(f"{program}: the first line must start with {MARKER!r}")
    score: float | None = None
    causes: frozenset[str] | None = None
    checks: dict[str, CheckVerdict] = {}
    for token in shlex.split(line[len(MARKER) :]):
        key, sep, value = token.partition("=")
        if not sep:
            raise VerdictLineError(f"{program}: {token!r} is not key=value")
        if key == "score":
            score = float(value)
            continue
        if key == "causes":
            causes = frozenset() if value == "none" else frozenset(value.split(","))
            continue
        status, _, phrase = value.partition("~")
        if status not in STATUSES:
            raise VerdictLineError(f"{program}: {key}: status must be one of {', '.join(STATUSES)}, not {status!r}")
        checks[key] = CheckVerdict(status, phrase or None)
    if score is None or causes is None or not checks:
        raise VerdictLineError(f"{program}: the verdict needs score=, causes= and at least one check")
    roles = {Role(check_id.split(".")[0]) for check_id in checks}
    if len(roles) != 1:
        raise VerdictLineError(f"{program}: the checks must all be of one role, not {sorted(r.value for r in roles)}")
    return Expected(program, roles.pop(), score, causes, checks)


def read_expected(path: Path) -> Expected:
    with path.open(encoding="utf-8") as source:
        return parse_verdict_line(path.stem, source.readline().rstrip("\n"))


def mismatches(expected: Expected, score: float, causes: set[str], checks: dict[str, tuple[str, str]]) -> list[str]:
    """What differs between the expected verdict and a grading's (root-cause keys, check id -> (status, summary))."""
    problems = [] if score == expected.score else [f"score {score:g}, expected {expected.score:g}"]
    if causes != expected.causes:
        problems.append(
            f"causes {','.join(sorted(causes)) or 'none'}, expected {','.join(sorted(expected.causes)) or 'none'}"
        )
    for check_id, want in expected.checks.items():
        status, summary = checks.get(check_id, ("not graded", ""))
        if status != want.status:
            problems.append(f"{check_id}: {status}, expected {want.status} ({summary})")
        elif want.phrase is not None and want.phrase not in summary:
            problems.append(f"{check_id}: summary {summary!r} lacks {want.phrase!r}")
    return problems
