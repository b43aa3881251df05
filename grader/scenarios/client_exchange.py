"""The `client_exchange` kind: what the scripted server does, what the student's client must show.

A client run is one execution of the student's client against one scripted-server
behaviour; several checks can judge the same run (sends the line, prints the reply, exits),
so each distinct behaviour runs once per submission: the checks that share it share a lane.
All of it is pure but `play`, which runs the client in the sandbox beside the scripted server.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import random
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

from grader import scripted_server
from grader.diagnose import program_error_cause, source_line, student_line
from grader.model import MAX_STEPS, Cause, Program, ProgramRun, Role, Sender, Source, Step
from grader.sandbox import Sandbox, SandboxError
from grader.scenarios.common import Verdict, quoted_output, show
from grader.scenarios.kind import Kind, ProgramCheck
from grader.scenarios.scripted_peer import ScriptedServer, ScriptedServerError, ScriptedServerSpec, sockets_for

ABSENT = "absent"  # no scripted server at all
UDP_BEHAVIOURS = (*scripted_server.UDP_BEHAVIOURS, ABSENT)
TCP_BEHAVIOURS = (*scripted_server.TCP_BEHAVIOURS, ABSENT)
OUTPUT_LINES = 8  # of each stream of a client's output, quoted in its evidence
PEER_LIFETIME = 10.0  # seconds the scripted server and its network outlive the client's budget, then end by themselves
EXPECTATIONS = ("sends_line", "prints_reply", "prints_reply_once", "exits", "exits_within_budget", "clear_failure")

# Placeholder host names from the textbook and from students; they resolve to the scripted server.
PLACEHOLDER_HOSTS = (
    "hostname",
    "servername",
    "serverName",
    "server",
    "serverhost",
    "host",
    "server_name",
    "your_server",
    "yourserver",
    "serverIP",
    "serverip",
)

_WORDS = ("socket", "network", "packet", "hello", "transport", "layer", "port", "kurose", "client")


@dataclass(frozen=True)
class ClientParams:
    behaviour: str = "normal"  # the scripted server's part; "absent": no server at all
    expect: str = "prints_reply"  # what this check asserts about the run
    delay: float = 0.8  # reply_late
    pieces: int = 3  # slices
    pause: float = 0.15

    def __post_init__(self) -> None:
        if self.behaviour not in set(UDP_BEHAVIOURS) | set(TCP_BEHAVIOURS):
            raise ValueError(f"behaviour must be one of {', '.join(sorted(set(UDP_BEHAVIOURS) | set(TCP_BEHAVIOURS)))}")
        if self.expect not in EXPECTATIONS:
            raise ValueError(f"expect must be one of {', '.join(EXPECTATIONS)}")
        if not 0 <= self.delay <= 5 or not 1 <= self.pieces <= 50 or not 0 <= self.pause <= 2:
            raise ValueError("delay must be 0..5 s, pieces 1..50, pause 0..2 s")


def lane(params: ClientParams) -> Hashable:
    """Checks whose runs would be identical share one run."""
    return (params.behaviour, params.delay, params.pieces, params.pause)


def misfit(role: Role, params: ClientParams) -> tuple[str, str] | None:
    behaviours = UDP_BEHAVIOURS if role.transport == "udp" else TCP_BEHAVIOURS
    if params.behaviour in behaviours:
        return None
    return (
        f"behaviour {params.behaviour!r} is not a {role.transport} behaviour",
        f"use one of: {', '.join(behaviours)}",
    )


@dataclass(frozen=True)
class ClientRun(ProgramRun):
    """What one run of a client showed: its output, how it ended, and what the scripted server saw."""

    events: list[dict] = field(default_factory=list)


def typed_line(seed: int) -> str:
    rng = random.Random(f"typed:{seed}")
    return f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} from the grader {rng.randrange(1000, 9999)}"


def server_spec(transport: str, params: ClientParams, port: int) -> ScriptedServerSpec | None:
    if params.behaviour == ABSENT:
        return None
    return ScriptedServerSpec(transport, params.behaviour, port, params.delay, params.pieces, params.pause)


def received_requests(events: list[dict]) -> list[bytes]:
    """What the client sent: each datagram, or each TCP connection's bytes."""
    datagrams = [base64.b64decode(e["data"]) for e in events if e.get("event") == "datagram"]
    per_conn: dict[int, bytes] = {}
    for e in events:
        if e.get("event") == "data":
            per_conn[e["conn"]] = per_conn.get(e["conn"], b"") + base64.b64decode(e["data"])
    return datagrams + list(per_conn.values())


def count_printed(stdout: str, reply: str) -> int:
    """How often the reply appears as text (not inside a bytes repr like b'HELLO')."""
    plain = 0
    for match in re.finditer(re.escape(reply), stdout):
        before = stdout[max(0, match.start() - 2) : match.start()]
        if not before.endswith(("b'", 'b"')):
            plain += 1
    return plain


def judge(expect: str, run: ClientRun, line: str, reply: str, source: Source) -> Verdict:
    verdict = _judge(expect, run, line, reply, source)
    verdict.timed = not verdict.passed and _timed(run)
    return verdict


def _timed(run: ClientRun) -> bool:
    """Killed after its budget, or stopped by a timeout of its own: either might not happen on a quieter machine.

    A client seen blocked forever is not: no machine, however quiet, would have woken it.
    """
    output = (run.stdout + run.stderr).lower()
    return (run.hung and not run.never_woke) or "timed out" in output or "timeout" in output


def _stopped(run: ClientRun) -> str:
    """Why a client that did not exit was stopped."""
    if run.never_woke:
        return f"it was {run.never_woke}, with nothing more coming to it: it would never wake"
    return f"killed after {run.budget:g}s"


def _judge(expect: str, run: ClientRun, line: str, reply: str, source: Source) -> Verdict:
    evidence = _evidence(run, line, reply)
    sent = received_requests(run.events)
    printed = count_printed(run.stdout, reply)
    ended = _ending(run)
    if expect == "sends_line":
        if any(r.rstrip(b"\r\n") == line.encode() for r in sent):
            return Verdict(True, "the typed line reached the server", evidence)
        if sent:
            return Verdict(
                False, f"the server received {show(sent[0])}, not the typed line", evidence, _cause(run, source, reply)
            )
        return Verdict(False, "the server received nothing", evidence, _cause(run, source, reply))
    if expect in ("prints_reply", "prints_reply_once"):
        if printed == 0:
            return Verdict(False, _not_printed(run, reply), evidence, _cause(run, source, reply))
        if not any(e.get("event") == "reply" for e in run.events):
            # The reply can be computed from the typed line: printing it proves nothing
            # unless the server actually sent one.
            return Verdict(
                False,
                "the reply was printed, but the server never sent one: the client did not get it from the server",
                evidence,
                Cause("reply-not-from-server", "send the line to the server and print what comes back"),
            )
        if expect == "prints_reply_once" and printed > 1:
            return Verdict(
                False,
                f"the reply was printed {printed} times; a duplicated reply must be printed once",
                evidence,
                Cause(
                    "prints-every-reply",
                    "after the first reply, stop reading (or drain) instead of printing every datagram",
                ),
            )
        return Verdict(True, "the reply was printed", evidence)
    if expect == "exits":
        if run.hung:
            return Verdict(False, f"the client did not exit: {_stopped(run)}", evidence, _cause(run, source, reply))
        if run.exit is None or run.exit.code != 0:  # a crash is not the clean exit this check asks for
            return Verdict(False, f"the client stopped with an error ({ended})", evidence, _cause(run, source, reply))
        return Verdict(True, f"the client exited by itself ({ended})", evidence)
    if expect == "exits_within_budget":
        if run.hung:
            return Verdict(False, f"the client hung: {_stopped(run)}", evidence, _cause(run, source, reply))
        outcome = "printed the reply" if printed else "reported the failure"
        return Verdict(True, f"the client {outcome} and exited ({ended})", evidence)
    # clear_failure: no server at all; the client must say so and stop
    if run.hung:
        return Verdict(False, f"the client hung with no server: {_stopped(run)}", evidence, _cause(run, source, reply))
    if "Traceback" in run.stderr or "Traceback" in run.stdout:
        return Verdict(
            False,
            "the client crashed with a traceback instead of a message",
            evidence,
            Cause(
                "traceback-no-server",
                "catch the socket error (timeout, ConnectionRefusedError) and print one clear line",
                student_line(run.stderr + "\n" + run.stdout),
            ),
        )
    return Verdict(True, f"the client gave up cleanly ({ended})", evidence)


def _ending(run: ClientRun) -> str:
    if run.exit:
        return f"{run.exit.reason} after {run.duration:.2f}s"
    return f"stopped after {run.duration:.2f}s, {run.never_woke}" if run.never_woke else "killed"


def _not_printed(run: ClientRun, reply: str) -> str:
    if f"b'{reply}'" in run.stdout or f'b"{reply}"' in run.stdout:
        return f"the reply was printed as a bytes repr (b'{reply}'), not as text"
    if reply.lower() in run.stdout:
        return "the output holds the line in lower case, not the server's reply"
    return "the reply does not appear in the output"


_ADDRESS = re.compile(r"""['"](\d{1,3}(?:\.\d{1,3}){3})['"]""")


def remote_address(source: str) -> str | None:
    """An IPv4 address the client's code names that is not this machine's: a LAN or public server's."""
    for found in _ADDRESS.finditer(source):
        address = found[1]
        if not address.startswith("127.") and address != "0.0.0.0":
            return address
    return None


# `serverName = input(...)`, `host = input(...)`: the server's address read from the keyboard.
_HOST_FROM_INPUT = (
    r"(?i)\b(?:server_?(?:name|host|ip|addr|address)|host_?(?:name)?|ip(?:_?addr(?:ess)?)?|address)\s*=\s*input\("
)


def _printed_first_piece_only(run: ClientRun, reply: str) -> bool:
    """The server sent its reply in pieces, and the output holds its first piece but not the whole of it.

    A client that closes after its first recv() leaves the server only that first piece to log.
    """
    pieces = [e for e in run.events if e.get("event") == "reply" and "piece" in e]
    if not pieces or reply in run.stdout:
        return False
    try:
        first = base64.b64decode(pieces[0].get("data", "")).decode("utf-8", "replace").strip()
    except ValueError:
        return False
    return bool(first) and first in run.stdout


def _cause(run: ClientRun, source: Source, reply: str) -> Cause | None:
    output = run.stderr + "\n" + run.stdout
    if f"b'{reply}'" in run.stdout or f'b"{reply}"' in run.stdout:
        return Cause(
            "bytes-repr-printed",
            "printed the bytes repr: print(modifiedMessage.decode()) to show text",
            source_line(source, r"\bprint\("),
        )
    address = remote_address(source.text)
    named = source_line(source, rf"['\"]{re.escape(address)}['\"]") if address else None  # in code, not a comment
    if named is not None and not received_requests(run.events):
        return Cause(
            "remote-address",
            f"the client sends to {address}, another machine's address, which a grader's server never is: "
            "use 'localhost' (the server runs on the same machine)",
            named,
        )
    # A client killed while it waited did not die of an error it printed (a retry loop logs one each time).
    cause = None if run.hung else program_error_cause(output)
    if cause is not None and cause.key == "unresolved-host":
        asked = source_line(source, _HOST_FROM_INPUT)
        if asked is not None:
            return Cause(
                "host-from-input",
                "it reads the server's name with input(), and the grader types only the sentence, so the sentence "
                "was taken for a host name: write serverName = 'localhost' in the program",
                asked,
            )
        placeholders = [h for h in PLACEHOLDER_HOSTS if re.search(rf"['\"]{h}['\"]", source.text)]
        if placeholders:
            return Cause(
                "placeholder-host",
                f"the host name '{placeholders[0]}' is the textbook's placeholder; it did not resolve here: "
                "use 'localhost' when client and server run on one machine",
                source_line(source, rf"['\"]{placeholders[0]}['\"]"),
            )
        return cause
    if cause is not None:
        return cause
    if _printed_first_piece_only(run, reply):
        return Cause(
            "one-recv-per-reply",
            "the client reads the reply with one recv(), and TCP may deliver it in pieces: keep calling recv() "
            "until the line's newline arrives (or b'' when the server closes), then print it",
            source_line(source, r"\.recv\("),
        )
    if run.hung and "settimeout" not in source.text:
        return Cause(
            "no-timeout",
            "the client has no timeout, so it waits forever for a reply that never comes: "
            "call clientSocket.settimeout(1) and handle socket.timeout",
            source_line(source, r"\.(recvfrom|recv)\("),
        )
    if run.hung:
        return Cause(
            "hangs-after-timeout",
            "the client kept waiting after its timeout: make sure every path ends the program",
            source_line(source, r"settimeout"),
        )
    return None


def _evidence(run: ClientRun, line: str, reply: str) -> list[str]:
    seen = []
    for e in run.events:
        kind = e.get("event")
        if kind in ("datagram", "data", "reply", "connect", "eof", "close", "reset"):
            size = f" {e['size']} bytes" if "size" in e else ""
            seen.append(f"{e.get('t', 0):.3f}s {kind}{size}")
    lines = [
        f"typed line: {line!r}; expected reply: {reply!r}",
        f"scripted server saw: {', '.join(seen[:12]) or 'nothing'}" + (" …" if len(seen) > 12 else ""),
        f"client ended: {_ending(run)} (budget {run.budget:g}s"
        + (f", plus {run.waited:.1f}s it spent waiting for a CPU on a busy machine)" if run.waited >= 0.05 else ")"),
    ]
    lines.append(quoted_output("client stdout", run.stdout, OUTPUT_LINES))
    if run.stderr.strip():
        lines.append(quoted_output("client stderr", run.stderr, OUTPUT_LINES))
    return lines


def run(check: ProgramCheck) -> Verdict:
    params: ClientParams = check.check.params
    line = typed_line(check.seed)
    reply = check.transform(line.encode()).decode("utf-8", "replace")
    key = lane(params)
    client_run = check.runs.get(key)
    if client_run is None:
        cut = check.deadline.remaining() < check.budget  # a run cut short by a time limit is not shared
        client_run = play(
            check.sandbox,
            check.submission.path,
            check.program,
            (line + "\n").encode(),
            server_spec(check.check.role.transport, params, check.port),
            max(0.1, min(check.budget, check.deadline.remaining())),
        )
        if not cut:
            check.runs[key] = client_run
    verdict = judge(params.expect, client_run, line, reply, check.source)
    verdict.steps = exchange_steps(client_run.events, params.behaviour)
    return verdict


SHOWN_BYTES = 48  # of each message, so that an arrow's label stays near 60 characters


def exchange_steps(events: list[dict], behaviour: str) -> list[Step]:
    """The scripted server's log as arrows: the program is the client here, the grader the server; at most MAX_STEPS.

    Times count from the program's first connection or datagram. Under `drop_first` the
    first datagram is read and never answered, as if the network had lost it.
    """
    shown = [
        e for e in events if isinstance(e, dict) and e.get("event") in _ARROWS and isinstance(e.get("t"), (int, float))
    ]
    if not shown:
        return []
    start = float(shown[0]["t"])
    found: list[Step] = []
    datagrams = replies = 0
    for event in shown:
        kind = event["event"]
        datagrams += kind == "datagram"
        replies += kind == "reply"
        sender = Sender.GRADER if kind in ("reply", "close") else Sender.PROGRAM
        text = _event_text(event)
        fate, note = "delivered", ""
        if kind == "datagram" and behaviour == "drop_first" and datagrams == 1:
            fate, note = "dropped", "ignored by the server, as if lost"
        elif kind == "reply" and isinstance(event.get("piece"), int):
            note = f"piece {event['piece'] + 1}"
        elif kind == "reply" and behaviour == "wrong_port" and "from_port" in event:
            note = f"from port {event['from_port']}, not the one it was sent to"
        if kind == "reply" and behaviour == "reply_late":
            fate = "delayed"
        elif kind == "reply" and behaviour == "reply_twice" and replies > 1:
            fate, note = "repeated", "the same reply again"
        found.append(Step(max(0.0, float(event["t"]) - start), sender, text, fate, note))
        if len(found) >= MAX_STEPS:
            break
    return found


_ARROWS = ("connect", "datagram", "data", "reply", "eof", "reset", "close")


def _event_text(event: dict) -> str:
    kind = event["event"]
    if kind in ("datagram", "data", "reply"):
        try:
            return show(base64.b64decode(str(event.get("data", "")), validate=True), SHOWN_BYTES)
        except (ValueError, TypeError):
            return f"({event.get('size', '?')} bytes)"
    return {"eof": "close (FIN)", "close": "close"}.get(kind, kind)


def play(
    sandbox: Sandbox, folder: Path, program: Program, stdin: bytes, server: ScriptedServerSpec | None, budget: float
) -> ClientRun:
    """Run the client once, in a network of its own where the scripted server (None: no server) listens.

    The textbook's placeholder host names resolve to the scripted server where the sandbox
    can map names. The scripted server is the grader's own process on this machine.
    """
    lifetime = budget + PEER_LIFETIME
    try:
        with sandbox.peer_network(folder, program.role, PLACEHOLDER_HOSTS, lifetime) as network:
            if server is None:
                scripted: contextlib.AbstractContextManager = contextlib.nullcontext()
            elif network.make_socket is None:
                scripted = ScriptedServer(server, lifetime, host=network.host)
            else:
                scripted = ScriptedServer(server, lifetime, sockets_for(server, network.make_socket))
            with scripted as serving:
                quiet = serving.quiet if serving is not None else lambda: "no server"
                ran = sandbox.run_program(folder, program, stdin, network, budget, quiet)
    except (OSError, ScriptedServerError) as exc:
        raise SandboxError(f"cannot serve the client's run: {exc}") from None
    events = serving.events if serving is not None else []
    return ClientRun(**{f.name: getattr(ran, f.name) for f in dataclasses.fields(ran)}, events=events)


KIND = Kind("client_exchange", frozenset({Role.UDP_CLIENT, Role.TCP_CLIENT}), ClientParams, run, lane, misfit)
