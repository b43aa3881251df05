"""A program's CPU time and busyness, read from its cgroup or its process tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.usage import CgroupUsage, Usage, process_tree_usage


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
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nend = time.monotonic() + 20\n"
                                                      "while time.monotonic() < end: pass"])
    try:
        time.sleep(1.0)
        assert process_tree_usage(sleeper.pid).busy is False
        busy = [process_tree_usage(spinner.pid).busy for _ in range(5)]
        assert any(busy)
        assert process_tree_usage(spinner.pid).cpu_seconds > 0.3
    finally:
        for process in (sleeper, spinner):
            process.kill()
            process.wait()


def test_a_process_that_ended_has_no_usage(dead_pid):
    assert process_tree_usage(dead_pid) is None
