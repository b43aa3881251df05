"""A TCP exchange as the arrows of its sequence diagram: what a scripted client asked, what came of it.

`Recorder` stands between a stream client machine and grader.netio and keeps each action
with the event that answered it; `stream_steps` turns that log into `Step`s. Pure: the recorder
does no I/O of its own, so a test feeds it events by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.model import MAX_STEPS, Sender, Step
from grader.scenarios.common import show
from grader.tcp_actions import (
    Action,
    AskUnread,
    Close,
    Connect,
    ConnectFailed,
    Eof,
    Error,
    Event,
    HalfClose,
    Pause,
    Read,
    Received,
    Send,
    StreamClient,
    Stuck,
    TimedOut,
)

SHOWN_BYTES = 48  # of each piece, so that an arrow's label stays near 60 characters


@dataclass
class Recorder:
    """A StreamClient that plays `machine` and keeps each action that draws an arrow with the event that answered it."""

    machine: StreamClient
    log: list[tuple[Action, Event]] = field(default_factory=list)
    _pending: Action | None = None

    def start(self, now: float) -> Action:
        self._pending = self.machine.start(now)
        return self._pending

    def handle(self, event: Event) -> Action:
        # Polls and pauses draw nothing, and a sliced request makes hundreds: kept, they could
        # fill the log before the reply. Bounded, as a diagram shows MAX_STEPS.
        if not isinstance(self._pending, AskUnread | Pause | None) and len(self.log) < MAX_STEPS:
            self.log.append((self._pending, event))
        self._pending = self.machine.handle(event)
        return self._pending


def stream_steps(log: list[tuple[Action, Event]], pieces: dict[int, int] | None = None) -> list[Step]:
    """One step per connect, write, reply piece, close, reset or wait that ran out; at most MAX_STEPS.

    Times count from the first step, as a UDP exchange's count from its first send.

    `pieces` gives each connection's count of planned writes, so a sliced request says
    which slice each write is.
    """
    found: list[Step] = []
    written: dict[int, int] = {}
    many = len({getattr(action, "conn", 0) for action, _ in log}) > 1
    started: float | None = None
    for action, event in log:
        step = _step(action, event, written, pieces or {})
        if step is None:
            continue
        started = step.at if started is None else started
        at = max(0.0, round(step.at - started, 6))
        conn = getattr(action, "conn", None)
        note = ", ".join(
            part for part in (f"connection {conn}" if many and conn is not None else "", step.note) if part
        )
        found.append(Step(at, step.sender, step.text, step.fate, note))
        if len(found) >= MAX_STEPS:
            break
    return found


def _step(action: Action, event: Event, written: dict[int, int], pieces: dict[int, int]) -> Step | None:
    t = event.t
    match action, event:
        case Connect(), ConnectFailed(error=error):
            return Step(t, Sender.GRADER, "connect", "failed", error)
        case Connect(), _:
            return Step(t, Sender.GRADER, "connect")
        case Send(data=data), Error(error=error):
            return Step(t, Sender.GRADER, show(data, SHOWN_BYTES), "failed", f"send failed: {error}")
        case Send(conn=conn, data=data), _:
            written[conn] = written.get(conn, 0) + 1
            total = pieces.get(conn, 1)
            note = f"piece {written[conn]} of {total}" if total > 1 else ""
            return Step(t, Sender.GRADER, show(data, SHOWN_BYTES), note=note)
        case HalfClose(), _:
            return Step(t, Sender.GRADER, "half-close (FIN)")
        case Read(), Received(data=data):
            return Step(t, Sender.PROGRAM, show(data, SHOWN_BYTES))
        case Read(), Eof():
            return Step(t, Sender.PROGRAM, "close (FIN)")
        case Read(timeout=timeout), TimedOut():
            return Step(t, Sender.PROGRAM, "(nothing)", "silent", f"no reply in {timeout:.3g} s")
        case Read(), Stuck(how=how):
            return Step(t, Sender.PROGRAM, "(nothing)", "silent", f"no reply: {how}")
        case Read(), Error(error=error):
            return Step(t, Sender.PROGRAM, "reset", note=error)
        case Close(rst=rst), _:
            return Step(t, Sender.GRADER, "close (RST)" if rst else "close")
    return None
