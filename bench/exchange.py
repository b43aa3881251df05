"""Per-exchange figure: one datagram's round trip through the grader's scripted UDP client, against a bare socket.

    python -m bench.exchange [--exchanges 500]

What is measured (the ratio depends on it, so it is written down):

- The server is reference/udp_server.py in a container of the grader's DockerSandbox,
  reached from a socket made inside its loopback-only network namespace, exactly as a graded
  check reaches a student's server (both the bare socket and the grader's).
- One exchange is the interval between two consecutive sends of a lock-step exchange: one
  round trip plus everything the client does for it (deciding, scheduling and making the
  send, waiting, reading the reply and matching it). For the grader these are the send
  times its UdpClientMachine records (`machine.sent`, read from time.monotonic before each
  send is made); the bare client reads the same clock before each sendto of a plain
  blocking socket. Timing whole one-message plays instead would charge each datagram with
  the per-check set-up (sockets, selector), which a check pays once.
- A play is 20 lock-step messages, the longest lock-step check the shipped assignments
  have (udp_server.many_messages); the bare client sends the same 20 payloads.
- "grader" is the grader's client with zero impairment rates: every send still goes through
  the schedule's fate and the pipe, which deliver it untouched.
- "grader + impairment" has 5 % each of drop, duplicate, delay and reorder, so the same
  path carries seeded decisions, and a 2 ms reply timeout with 3 retries. play_udp draws
  the fates of first sends before its clock starts (a fate depends only on seed, message
  and attempt); a retransmission's is drawn when it is sent. Only exchanges whose send
  went out untouched (its fate is DELIVER) are counted: the others time the impairment (a
  timeout, an added delay), not the grader.
- In all three, an exchange counts only when exactly one reply arrived between its send
  and the next, so a stray or missing reply never passes for a round trip, and not in the
  three exchanges after a wait (a gap of more than 1 ms between two sends: a timeout, an
  added delay). After a wait the machine is cold, whoever sends: a bare socket's round
  trips after a 100 ms pause took 216, 32 and 20 µs against 19 µs warm on the 2-core
  machine this was written on. Only the impaired plays wait, so without this rule that
  warm-up would be billed to the impairment layer; the short reply timeout keeps those
  waits short for the same reason.
- Each round runs the three in a rotating order, so drift and noise hit all three alike;
  the first round warms up and is discarded.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import socket
import time
from dataclasses import dataclass

from bench.startup import ANSWER_TIMEOUT, PORT, REFERENCE, UDP_SERVER, wait_for_answer
from bench.stats import Summary, ratio, summarize
from grader import netio
from grader.impair import Action
from grader.sandbox.docker import DockerSandbox
from grader.scenarios.udp_exchange import UdpClientMachine, UdpExchangeParams, plan
from grader.scripted_server import uppercase

PLAY_MESSAGES = 20
GRADER = UdpExchangeParams(messages=PLAY_MESSAGES)
# Short waits for the dropped and held sends keep the machine warm for the exchanges that follow.
IMPAIRED = UdpExchangeParams(
    messages=PLAY_MESSAGES, drop=0.05, duplicate=0.05, delay=0.05, reorder=0.05, retries=3, reply_timeout=0.002
)
BARE_REPLY_TIMEOUT = 1.0
WAIT = 0.001  # seconds between two sends beyond which the client waited rather than exchanged
SETTLE = 3  # exchanges after a wait that are not counted
TIME_LIMIT = 600.0  # seconds for the whole measurement, whatever the count asked for
VARIANTS = ("bare socket", "grader", "grader + impairment")


@dataclass(frozen=True)
class Trace:
    """One play: each send's time and whether it went out untouched, then each reply's time (seconds)."""

    sends: tuple[tuple[float, bool], ...]
    replies: tuple[float, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    round_trips: Summary
    median_ratio: float | None  # against the bare socket
    p99_ratio: float | None


@dataclass(frozen=True)
class ExchangeFigures:
    exchanges: int  # counted per variant
    play_messages: int
    variants: tuple[Variant, ...]  # the bare socket first


def clean_round_trips(trace: Trace) -> list[float]:
    """Intervals from an untouched send to the next, with exactly one reply between, once settled after a wait."""
    replies = sorted(trace.replies)
    trips = []
    since_wait = SETTLE  # a play starts warm: the one before it has just run
    for (at, untouched), (following, _) in itertools.pairwise(trace.sends):
        one_reply = bisect.bisect_left(replies, following) - bisect.bisect_left(replies, at) == 1
        if untouched and one_reply and since_wait >= SETTLE:
            trips.append(following - at)
        since_wait = 0 if following - at > WAIT else since_wait + 1
    return trips


def bare_play(payloads: list[bytes], target: tuple[str, int], make_socket=socket.socket) -> Trace:
    sends: list[tuple[float, bool]] = []
    replies: list[float] = []
    with make_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(BARE_REPLY_TIMEOUT)
        for payload in payloads:
            sends.append((time.monotonic(), True))
            sock.sendto(payload, target)
            try:
                sock.recvfrom(netio.MAX_DATAGRAM)
            except TimeoutError:
                continue  # no reply: the interval is not counted
            replies.append(time.monotonic())
    return Trace(tuple(sends), tuple(replies))


def grader_trace(machine: UdpClientMachine) -> Trace:
    schedule = machine.plan.schedule
    sends = tuple(
        (at, send.attempt == 0 and schedule.fate(send.request.index, 0).action is Action.DELIVER)
        for send, at in machine.sent
    )
    return Trace(sends, tuple(received.at for received in machine.received))


def measure(exchanges: int) -> ExchangeFigures:
    sandbox = DockerSandbox()
    try:
        server = sandbox.start_server(REFERENCE, UDP_SERVER, PORT)
        target = server.address("udp")
        wait_for_answer(target, time.monotonic() + ANSWER_TIMEOUT, server.make_socket)
        samples = _rounds(target, exchanges, server.make_socket)
    finally:
        sandbox.close()
    summaries = {name: summarize(values) for name, values in samples.items()}
    bare = summaries[VARIANTS[0]]
    return ExchangeFigures(
        exchanges,
        PLAY_MESSAGES,
        tuple(
            Variant(name, summary, ratio(summary.median, bare.median), ratio(summary.p99, bare.p99))
            for name, summary in summaries.items()
        ),
    )


def _rounds(target: tuple[str, int], exchanges: int, make_socket=socket.socket) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    deadline = time.monotonic() + TIME_LIMIT
    # Enough rounds for the impaired variant, which loses about a third of its exchanges to the filter.
    rounds = 1 + 3 * -(-exchanges // (PLAY_MESSAGES - 1))
    for number in range(rounds):
        if all(len(values) >= exchanges for values in samples.values()) or time.monotonic() > deadline:
            break
        seed = 1000 + number
        order = VARIANTS[number % 3 :] + VARIANTS[: number % 3]
        for name in order:
            if name == "bare socket":
                payloads = [request.payload for request in plan(GRADER, uppercase, seed).requests]
                trace = bare_play(payloads, target, make_socket)
            else:
                machine = UdpClientMachine(plan(GRADER if name == "grader" else IMPAIRED, uppercase, seed))
                netio.play_udp(machine, target, make_socket=make_socket)
                trace = grader_trace(machine)
            if number > 0:
                samples[name].extend(clean_round_trips(trace))
    short = [name for name, values in samples.items() if len(values) < exchanges]
    if short:
        raise RuntimeError(
            f"too few clean exchanges for {', '.join(short)} "
            f"({', '.join(str(len(samples[n])) for n in short)} of {exchanges})"
        )
    return {name: values[:exchanges] for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=500)
    args = parser.parse_args()
    figures = measure(args.exchanges)
    for variant in figures.variants:
        trips = variant.round_trips
        print(
            f"{variant.name:22s} median {trips.median * 1e6:7.1f} µs   p99 {trips.p99 * 1e6:7.1f} µs"
            f"   x{variant.median_ratio or 0:.2f} / x{variant.p99_ratio or 0:.2f}   ({trips.count} exchanges)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
