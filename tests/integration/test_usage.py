"""A program's CPU time and busyness, read from its cgroup or its process tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.usage import CgroupUsage, Usage, await_within_budget, process_tree_usage


def _fake_cgroup_v1(root: Path, relative: str, nanoseconds: int, pids: list[int]) -> Path:
    directory = root / "cpuacct" / relative
    directory.mkdir(parents=True)
    (directory / "cpuacct.usage").write_text(f"{nanoseconds}\n")
    (directory / "cgroup.procs").write_text("".join(f"{pid}\n" for pid in pids))
    return directory


def test_a_v1_cgroup_is_found_from_a_pid_and_its_cpu_time_read_in_seconds(tmp_path, monkeypatch):
    own = Path(f"/proc/{os.getpid()}/cgroup").read_text()
    relative = next((line.split(":", 2)[2] for line in own.splitlines() if "cpuacct" in line.split(":")[1]), None)
    if relative is None:
        pytest.skip("this machine's cgroups have no cpuacct controller (cgroup v2 only)")
    _fake_cgroup_v1(tmp_path, relative.lstrip("/"), 1_500_000_000, [os.getpid()])
    usage = CgroupUsage.of(os.getpid(), root=tmp_path).read()
    assert usage is not None and usage.cpu_seconds == 1.5


def test_a_v2_cgroup_reads_usage_usec(tmp_path):
    directory = tmp_path / "grp"
    directory.mkdir()
    (directory / "cpu.stat").write_text("usage_usec 250000\nuser_usec 200000\nsystem_usec 50000\n")
    (directory / "cgroup.procs").write_text("")
    assert CgroupUsage(directory, "cpu.stat").read() == Usage(0.25, busy=False)


def test_a_cgroup_that_is_gone_reads_as_none(tmp_path):
    assert CgroupUsage(tmp_path / "gone", "cpuacct.usage").read() is None


def test_a_pid_that_does_not_exist_has_no_cgroup(dead_pid):
    assert CgroupUsage.of(dead_pid) is None


def test_a_process_blocked_on_input_is_not_busy_and_one_spinning_is():
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end: pass"]
    )
    try:
        busy, cpu, until = [], 0.0, time.monotonic() + 15  # a busy machine gives the spinner its CPU slowly
        while cpu < 0.3 and time.monotonic() < until:
            usage = process_tree_usage(spinner.pid)
            busy.append(usage.busy)
            cpu = usage.cpu_seconds
            time.sleep(0.05)
        assert any(busy) and cpu >= 0.3
        assert process_tree_usage(sleeper.pid).busy is False
    finally:
        for process in (sleeper, spinner):
            process.kill()
            process.wait()


def test_a_process_that_ended_has_no_usage(dead_pid):
    assert process_tree_usage(dead_pid) is None


class FakeClock:
    """Time that moves only when the program under test waits."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _never_exits(clock: FakeClock):
    def wait(timeout: float):
        clock.now += timeout
        return None

    return wait


def test_a_hung_program_on_a_quiet_machine_is_stopped_at_its_budget():
    clock = FakeClock()
    result, added = await_within_budget(6.0, _never_exits(clock), lambda: 0.0, clock)
    assert result is None and added == 0.0 and clock.now == 6.0


def test_the_time_a_program_waited_for_a_cpu_is_added_to_its_budget():
    clock = FakeClock()
    result, added = await_within_budget(6.0, _never_exits(clock), lambda: min(2.5, clock.now / 2), clock)
    assert result is None and added == 2.5 and clock.now == 8.5


def test_however_long_it_waited_the_budget_ends_at_the_clocks_ceiling():
    clock = FakeClock()
    result, _ = await_within_budget(6.0, _never_exits(clock), lambda: clock.now, clock)
    assert result is None and clock.now == 24.0  # CLOCK_CEILING budgets


def test_a_program_that_ends_in_time_is_returned_at_once():
    clock = FakeClock()
    ends = iter([None, None, "exit 0"])

    def wait(timeout: float):
        clock.now += timeout
        return next(ends)

    assert await_within_budget(6.0, wait, lambda: 0.0, clock) == ("exit 0", 0.0) and clock.now == 3.0


def test_a_thread_kept_off_the_cpu_by_busy_neighbours_shows_its_wait():
    cores = os.cpu_count() or 1
    code = "import time\nend = time.monotonic() + 4\nwhile time.monotonic() < end: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2 * cores + 1)]
    try:
        time.sleep(2.0)
        waits = [_run_delay(h.pid) for h in hogs]
        # More busy threads than cores: each spends part of its life runnable, waiting for a CPU.
        assert max(waits) > 0.2
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _run_delay(pid: int) -> float:
    from grader.sandbox.usage import _tasks

    return _tasks(pid)[1]
