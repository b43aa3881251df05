"""Seeded impairment schedules: data in, decisions out (no sockets, no clock, no global RNG).

The I/O layer asks this module what to do with each datagram it forwards, or how to
write a TCP request, and then does exactly that.  Keeping the decisions pure means they
can be tested without sockets and printed in evidence lines, and the seed in a report is
enough to replay them: the same submission graded twice gets the same score.

The datagram model follows Mbed TLS's ``udp_proxy``: every send gets one seeded action,
reordering is "hold a datagram until the next one on the same path has passed", and no
datagram is impaired more than twice, so a client that retransmits always gets through.
"""

from __future__ import annotations

import enum
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

# ---------------------------------------------------------------------------- datagrams


class Action(str, enum.Enum):
    """What happens to one send of a datagram; exactly one action per send."""

    DELIVER = "deliver"
    DROP = "drop"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    # Keep it until the next datagram on the same path has been sent, then send it right
    # after; this is how reordering is expressed (see DatagramPipe).
    HOLD = "hold"


def _percent(p: float) -> str:
    return f"{p * 100:.3g}%"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@dataclass(frozen=True)
class DatagramProfile:
    """How likely each impairment is, per send.

    The probabilities are of mutually exclusive outcomes (one action per send), so they
    must add up to at most 1; the rest is the probability of plain delivery.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    delay_range: tuple[float, float] = (0.05, 0.25)  # seconds, for DELAY
    # Like udp_proxy: a datagram sent again and again eventually gets through, so a
    # correct retransmitting client cannot be failed by bad luck.
    max_impairments_per_datagram: int = 2

    NONE: ClassVar[DatagramProfile]

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also rejects NaN
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
        total = self.drop + self.duplicate + self.delay + self.reorder
        if total > 1.0 + 1e-9:
            raise ValueError(
                f"drop + duplicate + delay + reorder must be at most 1 (one action per datagram), got {total:g}"
            )
        low, high = self.delay_range
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high):
            raise ValueError(f"delay_range must be (low, high) seconds with 0 <= low <= high, got {self.delay_range!r}")
        if self.max_impairments_per_datagram < 0:
            raise ValueError(f"max_impairments_per_datagram must be >= 0, got {self.max_impairments_per_datagram!r}")

    def __str__(self) -> str:
        parts = [
            f"{name} {_percent(p)}"
            for name, p in (
                ("drop", self.drop),
                ("duplicate", self.duplicate),
                ("delay", self.delay),
                ("reorder", self.reorder),
            )
            if p > 0
        ]
        return ", ".join(parts) or "no impairment"


DatagramProfile.NONE = DatagramProfile()


@dataclass(frozen=True)
class Fate:
    """The decision for one send: message index, which attempt, and what to do with it."""

    message: int  # index of the logical message
    attempt: int  # 0 = first send, 1 = first retransmission, ...
    action: Action
    delay: float = 0.0  # seconds, only for DELAY

    def __post_init__(self) -> None:
        if self.message < 0 or self.attempt < 0:
            raise ValueError(f"message and attempt must be >= 0, got {self.message}, {self.attempt}")
        if self.delay < 0 or (self.delay and self.action is not Action.DELAY):
            raise ValueError(f"delay must be >= 0 and only set for DELAY, got {self.delay!r}")

    @property
    def label(self) -> str:
        """Compact name of the send: ``msg1`` for the first try, ``msg1'`` for the retry."""
        return f"msg{self.message}" + "'" * self.attempt

    @property
    def verb(self) -> str:
        """The action as evidence shows it, with the delay when there is one."""
        return f"delay {_ms(self.delay)}" if self.action is Action.DELAY else self.action.value

    def __str__(self) -> str:
        return f"msg {self.message} try {self.attempt}: {self.verb}"


def _draw(profile: DatagramProfile, seed: int, message: int, attempt: int) -> Fate:
    """The profile's raw decision for one send, before the impairment cap.

    Each send gets its own generator keyed by (seed, message, attempt), so the decision
    does not depend on how many sends came before or in which order the I/O layer asks:
    timing cannot change what happens.  A str seed is hashed with SHA-512 (seed version
    2), so it is stable across processes whatever PYTHONHASHSEED is.
    """
    if not (profile.drop or profile.duplicate or profile.delay or profile.reorder):
        # No draw can pick an action, so the generator, the costly part, is not needed.
        return Fate(message, attempt, Action.DELIVER)
    rng = random.Random(f"{seed}:{message}:{attempt}")
    u = rng.random()
    for action, p in (
        (Action.DROP, profile.drop),
        (Action.DUPLICATE, profile.duplicate),
        (Action.DELAY, profile.delay),
        (Action.HOLD, profile.reorder),
    ):
        if u < p:
            # Whole milliseconds: what is printed in evidence is exactly what is done.
            delay = round(rng.uniform(*profile.delay_range), 3) if action is Action.DELAY else 0.0
            return Fate(message, attempt, action, delay)
        u -= p
    return Fate(message, attempt, Action.DELIVER)


def _decide(
    profile: DatagramProfile,
    seed: int,
    message: int,
    attempt: int,
    overrides: Mapping[tuple[int, int], Fate],
) -> Fate:
    """Walk attempts 0..attempt of one message, applying overrides and the impairment cap."""
    if message < 0 or attempt < 0:
        raise ValueError(f"message and attempt must be >= 0, got {message}, {attempt}")
    impaired = 0
    for k in range(attempt + 1):
        if (message, k) in overrides:
            fate_k = overrides[(message, k)]
        elif impaired >= profile.max_impairments_per_datagram:
            fate_k = Fate(message, k, Action.DELIVER)
        else:
            fate_k = _draw(profile, seed, message, k)
        impaired += fate_k.action is not Action.DELIVER
    return fate_k


@dataclass(frozen=True)
class DatagramSchedule:
    """A seeded profile plus optional scripted sends: the whole plan for one path.

    ``overrides`` lets a check ask for an exact pattern ("drop the first request", "hold
    message 0 so message 1 overtakes it"); every other send follows the profile.  The
    schedule is a plain value so it can be printed, compared and replayed.
    """

    profile: DatagramProfile = DatagramProfile.NONE
    seed: int = 0
    overrides: tuple[Fate, ...] = ()

    def __post_init__(self) -> None:
        keys = [(f.message, f.attempt) for f in self.overrides]
        if len(set(keys)) != len(keys):
            raise ValueError(f"overrides name the same send twice: {sorted(keys)}")

    @classmethod
    def explicit(
        cls,
        actions: Mapping[tuple[int, int], Action],
        *,
        seed: int = 0,
        profile: DatagramProfile = DatagramProfile.NONE,
        delay: float = 0.2,
    ) -> DatagramSchedule:
        """Script sends by (message, attempt); unlisted sends follow ``profile`` (default: deliver).

        ``delay`` is the delay in seconds of every scripted DELAY.
        """
        overrides = tuple(
            Fate(m, a, action, delay if action is Action.DELAY else 0.0) for (m, a), action in sorted(actions.items())
        )
        return cls(profile, seed, overrides)

    def fate(self, message: int, attempt: int) -> Fate:
        lookup = {(f.message, f.attempt): f for f in self.overrides}
        return _decide(self.profile, self.seed, message, attempt, lookup)


@dataclass(frozen=True)
class Emission:
    """One datagram to put on the wire: which send it is, and when (seconds after the push)."""

    message: int
    attempt: int
    delay: float = 0.0


_COPIES = {Action.DROP: 0, Action.DUPLICATE: 2}  # datagrams on the wire per send; the other actions send one


class DatagramPipe:
    """Turns fates into wire order for one path (one direction); pure, but not a value.

    ``push`` returns what to send now, in order; each emission goes out ``delay``
    seconds after the push, and emissions with equal delays go out in list order.
    DROP sends nothing, DUPLICATE sends twice, DELAY sends once later.  HOLD keeps the
    datagram until the next emitted datagram and releases it right after that one (with
    the same delay, so it really lands behind it); several held datagrams are released
    together in the order they were held.  ``flush`` releases whatever is still held
    when the path goes quiet, so nothing is lost by holding.
    """

    def __init__(self) -> None:
        self._held: list[Fate] = []

    def push(self, fate: Fate) -> list[Emission]:
        if fate.action is Action.HOLD:
            self._held.append(fate)
            return []
        out = [Emission(fate.message, fate.attempt, fate.delay)] * _COPIES.get(fate.action, 1)
        if out and self._held:
            out += [Emission(h.message, h.attempt, fate.delay) for h in self._held]
            self._held.clear()
        return out

    def flush(self) -> list[Emission]:
        out = [Emission(h.message, h.attempt) for h in self._held]
        self._held.clear()
        return out


# ---------------------------------------------------------------------------- TCP streams


@dataclass(frozen=True)
class Write:
    """One send() call on a TCP socket, after an idle pause."""

    data: bytes
    pause_before: float = 0.0  # seconds

    def __post_init__(self) -> None:
        if not self.pause_before >= 0:
            raise ValueError(f"pause_before must be >= 0 seconds, got {self.pause_before!r}")


def _spaced(pieces: Sequence[bytes], pause: float) -> tuple[Write, ...]:
    return tuple(Write(p, 0.0 if i == 0 else pause) for i, p in enumerate(pieces))


def slice_stream(data: bytes, pieces: int, pause: float, seed: int) -> tuple[Write, ...]:
    """Cut ``data`` into ``pieces`` non-empty writes at seeded positions.

    A server that assumes one recv() returns the whole request fails on this.  With
    fewer bytes than pieces every byte is its own write; empty data gives no writes.
    """
    if pieces < 1:
        raise ValueError(f"pieces must be >= 1, got {pieces!r}")
    count = min(pieces, len(data))
    cuts = sorted(random.Random(f"slice:{seed}").sample(range(1, len(data)), count - 1)) if count else []
    bounds = [0, *cuts, len(data)] if count else []
    return _spaced([data[a:b] for a, b in itertools.pairwise(bounds)], pause)


class Ending(str, enum.Enum):
    """What the client side does after its last write.

    KEEP_OPEN is the textbook client (send, then read the reply on the open socket).
    HALF_CLOSE shuts down the write side (SHUT_WR) and then reads: a server that reads
    until EOF needs it, and one that recv()s once must still answer.  RESET closes with
    SO_LINGER 0, sending RST without reading: the server must survive a vanished peer.
    """

    KEEP_OPEN = "keep_open"
    HALF_CLOSE = "half_close"
    RESET = "reset"


@dataclass(frozen=True)
class StreamPlan:
    """How to send one TCP request: the writes, how the connection ends, and TCP_NODELAY.

    ``nodelay`` defaults to True so the kernel does not coalesce the pieces again.
    """

    writes: tuple[Write, ...]
    ending: Ending = Ending.KEEP_OPEN
    nodelay: bool = True

    MAX_SIZES_SHOWN: ClassVar[int] = 8

    @classmethod
    def whole(cls, data: bytes, ending: Ending = Ending.KEEP_OPEN) -> StreamPlan:
        return cls((Write(data),), ending)

    @property
    def data(self) -> bytes:
        return b"".join(w.data for w in self.writes)

    def __str__(self) -> str:
        ending = f"then {self.ending.value.replace('_', ' ')}"
        if not self.writes:
            return f"no writes, {ending}"
        n = len(self.writes)
        sizes = [len(w.data) for w in self.writes]
        if n == 1:
            detail = [f"{sizes[0]} bytes"]
        elif n <= self.MAX_SIZES_SHOWN:
            detail = ["+".join(map(str, sizes)) + " bytes"]
        else:
            detail = [f"{sum(sizes)} bytes"]
        pauses = sorted({w.pause_before for w in self.writes[1:]})
        if len(pauses) == 1 and pauses[0] > 0:
            detail.append(f"{_ms(pauses[0])} pauses")
        elif len(pauses) > 1:
            detail.append(f"pauses {_ms(pauses[0])} to {_ms(pauses[-1])}")
        first = f"after {_ms(self.writes[0].pause_before)}, " if self.writes[0].pause_before else ""
        return f"{first}{n} write{'s' * (n > 1)} ({', '.join(detail)}), {ending}"
