"""The child process of one student: its exit status, and how it is stopped at a timeout or on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader import runner

# A child that starts a grandchild in the same group, writes both pids, and sleeps; on SIGINT it
# writes a marker (as pytest's teardown would remove its containers) and exits.
SLEEPER = """
import os, signal, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
def stop(*_):
    open(sys.argv[1] + ".interrupted", "w").close()
    grandchild.kill()
    sys.exit(2)
if sys.argv[2] == "obey":
    signal.signal(signal.SIGINT, stop)
else:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
open(sys.argv[1], "w").write(f"{os.getpid()} {grandchild.pid}")
time.sleep(60)
"""


def _sleeper(tmp_path: Path, mode: str) -> tuple[list[str], Path]:
    pids = tmp_path / "pids"
    return [sys.executable, "-c", SLEEPER, str(pids), mode], pids


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_exit_status_and_output_of_a_child_are_kept(tmp_path):
    log = tmp_path / "log"
    run = runner.run_child([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log, 30, threading.Event())
    assert run == runner.ChildRun(3)
    assert log.read_text().strip() == "hello"


# The timeouts leave the sleeper ample time to set its SIGINT handler up before it is stopped.
def test_a_child_past_its_timeout_gets_sigint_to_clean_up(tmp_path):
    argv, pids = _sleeper(tmp_path, "obey")
    started = time.monotonic()
    run = runner.run_child(argv, tmp_path / "log", 3, threading.Event())
    assert run.timed_out and not run.cancelled
    assert time.monotonic() - started < 15
    assert (tmp_path / "pids.interrupted").exists()
    assert not any(_alive(int(pid)) for pid in pids.read_text().split())


# Plain Python: only its default SIGINT handler turns the signal into KeyboardInterrupt.
PLAIN_SLEEPER = """
import sys, time
open(sys.argv[1], "w").close()
try:
    time.sleep(60)
except KeyboardInterrupt:
    open(sys.argv[1] + ".interrupted", "w").close()
"""


def test_a_child_is_interrupted_even_when_the_grader_inherited_sigint_ignored(tmp_path):
    started = tmp_path / "started"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job (`cmd &`) has it
    try:
        run = runner.run_child(
            [sys.executable, "-c", PLAIN_SLEEPER, str(started)], tmp_path / "log", 3, threading.Event()
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run == runner.ChildRun(0, timed_out=True)  # it caught KeyboardInterrupt and ended by itself
    assert (tmp_path / "started.interrupted").exists()


def test_a_child_that_ignores_sigint_is_killed_with_its_whole_group(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "STOP_GRACE", 0.5)
    argv, pids = _sleeper(tmp_path, "ignore")
    run = runner.run_child(argv, tmp_path / "log", 3, threading.Event())
    assert run == runner.ChildRun(None, timed_out=True)
    time.sleep(0.2)
    assert not any(_alive(int(pid)) for pid in pids.read_text().split())


def test_cancelling_stops_a_running_child(tmp_path):
    argv, pids = _sleeper(tmp_path, "obey")
    cancel = threading.Event()
    threading.Thread(target=lambda: (_wait_for(pids), cancel.set()), daemon=True).start()
    run = runner.run_child(argv, tmp_path / "log", 60, cancel)
    assert run.cancelled and not run.timed_out
    assert (tmp_path / "pids.interrupted").exists()


def test_the_command_is_the_students_own_pytest_run_on_the_graders_own_configuration(tmp_path):
    argv = runner.pytest_command(
        tmp_path / "alice", tmp_path / "j.xml", "alice", tmp_path / "a.toml", "docker", 9, 120.0
    )
    assert argv[:5] == [sys.executable, "-P", "-m", "pytest", str(runner.GRADER_DIR)]
    for option in (
        f"--config-file={runner.GRADER_DIR / 'pytest.ini'}",
        f"--rootdir={runner.GRADER_DIR}",
        "--noconftest",
        f"--submission={tmp_path / 'alice'}",
        "--sandbox=docker",
        "--seed=9",
        "--time-limit=120",
        "--client-runs=1",
    ):
        assert option in argv
    assert any(argv[i : i + 2] == ["-o", "junit_suite_name=alice"] for i in range(len(argv)))


def test_no_value_of_the_command_stands_alone_where_pytest_could_take_it_for_a_test_path(tmp_path):
    argv = runner.pytest_command(
        tmp_path / "alice", tmp_path / "j.xml", "alice", tmp_path / "a.toml", "docker", 9, 120.0
    )
    after_options = argv[5:]
    alone = [
        arg
        for i, arg in enumerate(after_options)
        if not arg.startswith("-") and not (i and after_options[i - 1] in ("-o", "-p"))
    ]
    assert alone == []


def test_the_graders_ini_file_fixes_the_report_shape_the_gradebook_reads():
    import configparser

    ini = configparser.ConfigParser()
    ini.read(runner.GRADER_DIR / "pytest.ini")
    assert dict(ini["pytest"]) | {"addopts": ""} == {
        "addopts": "",
        "junit_family": "xunit2",
        "junit_logging": "system-out",
        "junit_log_passing_tests": "true",
    }
    assert "-p grader.plugin" in ini["pytest"]["addopts"]


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (
            "\nno tests ran in 0.55s\n! _pytest.outcomes.Exit: grader.toml: roles: must be a table !\n",
            "grader.toml: roles: must be a table",
        ),
        ("ERROR: usage: something else\n", None),
    ],
)
def test_the_reason_a_child_gave_for_stopping(log, message):
    assert runner.exit_message(log) == message


def test_the_log_tail_keeps_the_last_lines():
    log = "\n".join(f"line {i}" for i in range(100))
    assert runner.log_tail(log).splitlines() == [f"line {i}" for i in range(100 - runner.LOG_LINES, 100)]
    assert runner.log_tail("") == "(no output)"


SLOW_TEST = """
import time

def test_waits():
    time.sleep(60)
"""


def test_the_graders_pytest_is_forked_with_its_exit_status_and_output_kept(tmp_path):
    (tmp_path / "test_quick.py").write_text("def test_passes():\n    print('hello')\n")
    log = tmp_path / "log"
    argv = [sys.executable, *runner.PYTEST_PREFIX, str(tmp_path / "test_quick.py"), "-s", "-p", "no:cacheprovider"]
    run = runner.run_child(argv, log, 60, threading.Event())
    assert run == runner.ChildRun(0)
    assert "hello" in log.read_text() and "1 passed" in log.read_text()
    assert runner.start_fork_server().get_start_method() == "forkserver"


def test_a_forked_pytest_past_its_timeout_gets_sigint_and_tears_down(tmp_path):
    (tmp_path / "test_slow.py").write_text(SLOW_TEST)
    log = tmp_path / "log"
    argv = [sys.executable, *runner.PYTEST_PREFIX, str(tmp_path / "test_slow.py"), "-p", "no:cacheprovider"]
    run = runner.run_child(argv, log, 3, threading.Event())
    assert run == runner.ChildRun(2, timed_out=True)  # pytest's status once interrupted
    assert "KeyboardInterrupt" in log.read_text()


CHECK_SHADOW = """
import sys, threading
from pathlib import Path
from grader import runner
import shadow  # found here, in the folder this grader process started from
argv = [sys.executable, *runner.PYTEST_PREFIX, str(Path("tests").resolve()), "-p", "no:cacheprovider"]
run = runner.run_child(argv, Path("log").resolve(), 60, threading.Event())
sys.exit(run.returncode)
"""


def test_a_forked_pytest_does_not_find_modules_in_the_folder_the_grader_started_from(tmp_path):
    (tmp_path / "shadow.py").write_text("FOUND = True\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_imports.py").write_text(
        "import importlib.util\n\ndef test_no_shadow():\n    assert importlib.util.find_spec('shadow') is None\n"
    )
    # `-c` puts the working folder first on the grader's own sys.path, as `python -m grader` would.
    done = subprocess.run([sys.executable, "-c", CHECK_SHADOW], cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, (tmp_path / "log").read_text()
