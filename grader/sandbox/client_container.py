"""A client's container: each run of the client is a new process in it, run to its end.

A client sends its first datagram the moment it starts, so the grader's scripted server
listens in the container's loopback before the run is ordered (see
grader.sandbox.launcher_container for how the container is driven and kept clean).
"""

from __future__ import annotations

import time

from grader.model import ExitInfo, ProgramRun
from grader.sandbox import PeerQuiet
from grader.sandbox.blocked import BlockedWatch
from grader.sandbox.launcher import STDERR, STDOUT, STOP, frame
from grader.sandbox.launcher_container import KILLED, LauncherContainer, LauncherLost
from grader.sandbox.usage import await_within_budget, oom_kills

PROBE = 0.1  # seconds between looks at whether a client is blocked forever

__all__ = ["KILLED", "ClientContainer"]


class ClientContainer(LauncherContainer):
    """A client role's container; `run` as often as it stays clean."""

    def run(self, command: tuple[str, ...], stdin: bytes, budget: float, peer_quiet: PeerQuiet | None) -> ProgramRun:
        """Run `command` once with `stdin`; stop it after `budget` seconds of its own, or once blocked forever."""
        ooms = oom_kills(self._launcher)
        seen = self._begin(command, stdin)
        started = time.monotonic()  # the budget is the program's: the container was ready before it
        watch = None if peer_quiet is None else BlockedWatch(self._launcher, self._pids, peer_quiet, diag=self._diag)

        looked = [0.0]  # when /proc was last read: output arriving in a flood must not make it constant

        def wait_or_blocked(timeout: float) -> dict | str | None:
            end = time.monotonic() + timeout
            while seen.exited is None:
                self._receive(max(0.0, min(PROBE, end - time.monotonic())), seen)
                if seen.exited is not None:
                    break
                now = time.monotonic()
                if watch is not None and now - looked[0] >= PROBE:
                    looked[0] = now
                    if (blocked := watch.forever(now)) is not None:
                        return blocked
                if now >= end:
                    return None
            return seen.exited

        ended: dict | str | None = None
        waited, duration, decided = 0.0, 0.0, False
        try:
            ended, waited = await_within_budget(budget, wait_or_blocked, self._waited)
            duration, decided = time.monotonic() - started, True
            if not isinstance(ended, dict):
                self._send(frame(STOP))
            clean = self._await_clean(seen)
        except LauncherLost:
            # Only the program could do that (its memory, or limits it set on the launcher); and
            # with the namespace's init gone, the kernel killed every process of the program.
            clean = False
            if not decided:
                ended, duration = seen.exited or {"status": KILLED}, time.monotonic() - started
        self._finish(clean)
        exit_info = None
        if isinstance(ended, dict):
            oom = ooms is not None and (oom_kills(self._launcher) or 0) > ooms
            exit_info = ExitInfo(ended.get("status"), oom)
        return ProgramRun(
            seen.output[STDOUT].decode("utf-8", "replace"),
            seen.output[STDERR].decode("utf-8", "replace"),
            exit_info,
            duration,
            budget,
            waited,
            ended if isinstance(ended, str) else "",
        )

    def _waited(self) -> float:
        reading = None if self._usage is None else self._usage.read()
        return reading.waited_seconds if reading is not None else 0.0
