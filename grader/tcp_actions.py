"""What a scripted TCP client asks of the socket layer, and what it hears back: the vocabulary between them.

A machine (grader.scenarios.tcp_exchange's, or any kind's own) hands out one action at a
time and gets the event that came of it; grader.netio performs the actions on real
sockets. Keeping the vocabulary apart from both lets each kind bring its own machine and
lets the socket layer serve them all without knowing any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# What the machine asks the socket layer to do. `conn` is a ConnectionPlan index; every
# timeout is already capped by the caller's stop time.


@dataclass(frozen=True)
class Connect:
    conn: int
    timeout: float
    nodelay: bool  # TCP_NODELAY, so the kernel does not coalesce the slices again


@dataclass(frozen=True)
class Send:
    conn: int
    data: bytes
    timeout: float  # a server that never reads fills its window: sendall must not block for ever


@dataclass(frozen=True)
class AskUnread:
    """How much of what this connection sent has the server not read yet?"""

    conn: int


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class HalfClose:
    conn: int  # shutdown(SHUT_WR)


@dataclass(frozen=True)
class Read:
    conn: int
    timeout: float
    # Stop waiting once the server is seen blocked forever (Stuck): asked only while the
    # machine itself keeps a connection silent, which is then all the server could wait for.
    until_stuck: bool = False


@dataclass(frozen=True)
class Close:
    conn: int
    rst: bool  # SO_LINGER 0 first: close with RST instead of FIN


@dataclass(frozen=True)
class Done:
    """The exchange is over; the machine's records are final."""


Action = Connect | Send | AskUnread | Pause | HalfClose | Read | Close | Done


# What the socket layer tells the machine back; `t` is seconds since the scenario started.


@dataclass(frozen=True)
class Connected:
    conn: int
    t: float


@dataclass(frozen=True)
class ConnectFailed:
    conn: int
    error: str
    t: float


@dataclass(frozen=True)
class Sent:
    """A Send or a HalfClose went out."""

    conn: int
    t: float


@dataclass(frozen=True)
class UnreadBytes:
    conn: int
    count: int | None  # None: it cannot be seen right now
    t: float


@dataclass(frozen=True)
class NeverRead:
    """The answer to AskUnread when the server can read nothing more on this connection, ever.

    The connection was reset, or the server closed its end and no process holds it: a
    slice waiting to be read would wait in vain.
    """

    conn: int
    t: float


@dataclass(frozen=True)
class Received:
    conn: int
    data: bytes  # never empty: an empty read is Eof
    t: float


@dataclass(frozen=True)
class Eof:
    conn: int
    t: float


@dataclass(frozen=True)
class TimedOut:
    conn: int
    t: float


@dataclass(frozen=True)
class Stuck:
    """A Read(until_stuck) ended early: the server sleeps where nothing the machine does now can wake it."""

    conn: int
    how: str  # "blocked in recv() on a socket with no timeout" (grader.sandbox.blocked)
    t: float


@dataclass(frozen=True)
class Error:
    conn: int
    error: str  # "connection reset by the server", "Broken pipe", ...
    t: float


@dataclass(frozen=True)
class Tick:
    """A Pause or a Close is over."""

    t: float


Event = Connected | ConnectFailed | Sent | UnreadBytes | NeverRead | Received | Eof | TimedOut | Stuck | Error | Tick


class StreamClient(Protocol):
    """A TCP client machine: `start`, then `handle` each event until it answers Done."""

    def start(self, now: float) -> Action: ...

    def handle(self, event: Event) -> Action: ...
