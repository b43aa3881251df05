"""Local mode as root: student programs run as `nobody`, in a copy they can read, away from the grader's files.

Each program here is a probe started exactly as the local sandbox starts a server or a
client: it computes `result` and prints it. The submission folders live in a folder every
user may enter (not pytest's tmp_path, which is root's alone), so that what keeps a probe
out of the original is the original's owner, not a closed door on the way there.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from grader.model import Program, Role
from grader.sandbox import local
from grader.sandbox.local import LocalSandbox, copy_for_student, not_sandboxed_warning, student_user
from grader.scratch import scratch_dir

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="only root can start a program as another user; run the tests as root "
    "(CI does) to check that local mode does",
)

PROBE = "probe.py"
ALLOWED_ENV = {
    "PATH",
    "LANG",
    "HOME",
    "TMPDIR",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "LC_CTYPE",
}  # LC_CTYPE: Python sets it itself where it coerces the C locale (PEP 538)


def _nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder of root's that every user may enter and list, like a class folder or /tmp without its write bit."""
    folder = Path(tempfile.mkdtemp(prefix="local-sandbox-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def submission(open_folder) -> Path:
    folder = open_folder / "alice"
    folder.mkdir()
    folder.chmod(0o755)
    return folder


@pytest.fixture
def sandbox() -> Iterator[LocalSandbox]:
    box = LocalSandbox()
    yield box
    box.close()


@pytest.fixture(params=["server", "client"])
def run_probe(request, sandbox, submission) -> Callable[[str], object]:
    """run_probe(code): the `result` that `code` computed, in a program started as a server or as a client."""

    def run(code: str) -> object:
        role = request.param
        tail = "time.sleep(60)" if role == "server" else ""
        (submission / PROBE).write_text(
            f"import json, os, sys, time\n{code}\nprint('PROBE ' + json.dumps(result), flush=True)\n{tail}\n"
        )
        if role == "server":
            server = sandbox.start_server(
                submission, Program(Role.UDP_SERVER, ("python3", "-u", PROBE), Path(PROBE)), 12000
            )
            try:
                deadline = time.monotonic() + 15
                while (
                    "PROBE " not in server.output_tail() and server.exit_info() is None and time.monotonic() < deadline
                ):
                    time.sleep(0.02)
                output = server.output_tail()
            finally:
                server.stop()
        else:
            with sandbox.peer_network(submission, Role.UDP_CLIENT, (), 25.0) as network:
                run = sandbox.run_program(
                    submission, Program(Role.UDP_CLIENT, ("python3", "-u", PROBE), Path(PROBE)), b"", network, 15.0
                )
            output = run.stdout + run.stderr
        found = [line for line in output.splitlines() if line.startswith("PROBE ")]
        assert found, f"the probe printed no result:\n{output}"
        return json.loads(found[-1][len("PROBE ") :])

    return run


def _write_attempt(path: Path) -> str:
    """Probe code: `result` is "written" or the name of the error that stopped it."""
    return (
        f"try:\n    open({str(path)!r}, 'x').close()\n    result = 'written'\n"
        f"except OSError as exc:\n    result = type(exc).__name__"
    )


# --- as root: who, what environment, which folders ----------------------------------------


@needs_root
def test_a_student_program_runs_as_nobody_without_any_of_roots_groups(run_probe):
    ids = run_probe("result = [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()]")
    nobody = _nobody()
    assert ids == [nobody.pw_uid, nobody.pw_uid, nobody.pw_gid, nobody.pw_gid, []]


@needs_root
def test_a_student_program_gets_none_of_the_graders_environment(run_probe, monkeypatch):
    monkeypatch.setenv("SOCKETLAB_GRADER_SECRET", "the grader's token")
    names = set(run_probe("result = sorted(os.environ)"))
    assert "SOCKETLAB_GRADER_SECRET" not in names
    assert names <= ALLOWED_ENV and {"PATH", "HOME", "TMPDIR", "PYTHONUNBUFFERED"} <= names


@needs_root
def test_a_student_program_has_a_home_and_a_tmpdir_of_its_own(run_probe):
    found = run_probe(
        "result = []\n"
        "for name in ('HOME', 'TMPDIR'):\n"
        "    folder = os.environ[name]\n"
        "    open(os.path.join(folder, 'notes.txt'), 'w').close()\n"
        "    info = os.stat(folder)\n"
        "    result.append([info.st_uid, oct(info.st_mode & 0o777)])"
    )
    assert found == [[_nobody().pw_uid, "0o700"]] * 2


@needs_root
def test_a_student_program_cannot_write_into_its_submission_original(run_probe, submission):
    assert run_probe(_write_attempt(submission / "planted")) == "PermissionError"
    assert not (submission / "planted").exists()


@needs_root
def test_a_student_program_cannot_change_its_working_copy(run_probe):
    """Read-only, as the submission is in its Docker container."""
    assert run_probe(_write_attempt(Path("planted"))) == "PermissionError"


@needs_root
def test_a_student_program_cannot_write_next_to_the_graders_junit_report(run_probe):
    with scratch_dir("alice") as folder:  # as `grader grade` makes it for each student's pytest run
        report = Path(folder, "junit.xml")
        report.write_text("<testsuites/>")
        assert run_probe(_write_attempt(Path(folder, "planted.xml"))) == "PermissionError"
        assert sorted(os.listdir(folder)) == ["junit.xml"]


@needs_root
def test_a_student_program_cannot_write_into_the_sandboxs_own_folder(run_probe):
    assert run_probe(_write_attempt(Path("..", "planted"))) == "PermissionError"  # the copy's parent


@needs_root
def test_a_student_program_reads_a_submission_that_only_root_could_read(run_probe, submission):
    """Written under umask 077: the copy's modes are set, so the grading costs no marks."""
    (submission / "data").mkdir()
    (submission / "data" / "words.txt").write_text("hello")
    for path, mode in ((submission / "data" / "words.txt", 0o600), (submission / "data", 0o700)):
        path.chmod(mode)
    text = run_probe("result = open(os.path.join('data', 'words.txt')).read()")
    assert text == "hello"


@needs_root
def test_the_folder_of_a_run_is_removed_after_it(run_probe):
    home = run_probe("result = os.environ['HOME']")
    assert not os.path.exists(home)


@needs_root
def test_closing_the_sandbox_removes_its_scratch_folder(sandbox, run_probe):
    cwd = Path(run_probe("result = os.getcwd()"))
    assert cwd.parent.exists()
    sandbox.close()
    assert not cwd.parent.exists()


# --- not as root: as today -----------------------------------------------------------------


def test_without_root_programs_run_as_the_graders_user_in_the_original_folder(monkeypatch, submission):
    monkeypatch.setattr(local.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("SOCKETLAB_GRADER_SECRET", "kept")
    box = LocalSandbox()
    try:
        (submission / PROBE).write_text(
            "import json, os\nprint(json.dumps([os.getuid(), os.getcwd(), 'SOCKETLAB_GRADER_SECRET' in os.environ]))\n"
        )
        with box.peer_network(submission, Role.UDP_CLIENT, (), 25.0) as network:
            run = box.run_program(
                submission, Program(Role.UDP_CLIENT, ("python3", PROBE), Path(PROBE)), b"", network, 15.0
            )
    finally:
        box.close()
    assert json.loads(run.stdout) == [os.getuid(), str(submission), True], run.stderr


# --- the working copy ----------------------------------------------------------------------


def test_the_working_copy_has_readable_files_and_listable_folders_whatever_the_originals_modes(tmp_path):
    original = tmp_path / "alice"
    (original / "src").mkdir(parents=True)
    (original / "src" / "udp_server.py").write_text("print('hi')")
    (original / "run.sh").write_text("#!/bin/sh\n")
    (original / "run.sh").chmod(0o700)
    (original / "src" / "udp_server.py").chmod(0o600)
    (original / "src").chmod(0o700)

    copy_for_student(original, tmp_path / "copy")

    modes = {
        path.relative_to(tmp_path / "copy").as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [tmp_path / "copy", *(tmp_path / "copy").rglob("*")]
    }
    assert modes == {".": 0o755, "src": 0o755, "src/udp_server.py": 0o644, "run.sh": 0o755}
    assert (tmp_path / "copy" / "src" / "udp_server.py").read_text() == "print('hi')"


def test_the_working_copy_leaves_symlinks_and_fifos_out(tmp_path):
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    original = tmp_path / "alice"
    original.mkdir()
    (original / "udp_server.py").write_text("")
    (original / "shadow").symlink_to("/etc/shadow")
    (original / "outside").symlink_to(secret)
    (original / "inside").symlink_to("udp_server.py")
    os.mkfifo(original / "pipe")

    copy_for_student(original, tmp_path / "copy")

    assert sorted(os.listdir(tmp_path / "copy")) == ["udp_server.py"]


# --- what the grader itself writes ------------------------------------------------------------


@pytest.fixture
def restored_umask() -> Iterator[None]:
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.mark.parametrize(("before", "after"), [(0o022, 0o027), (0o002, 0o027), (0o077, 0o077)])
def test_closing_to_others_takes_every_permission_of_other_users_off_new_files(restored_umask, tmp_path, before, after):
    os.umask(before)
    local.close_to_others()
    (tmp_path / "report.xml").write_text("")
    assert (os.umask(0o022), stat.S_IMODE((tmp_path / "report.xml").stat().st_mode)) == (after, 0o666 & ~after)


# --- what the reports say ------------------------------------------------------------------


def test_the_warning_as_root_names_the_unprivileged_user():
    warning = not_sandboxed_warning(local.StudentUser("nobody", 65534, 65534))
    assert warning.startswith("Not sandboxed: student programs ran as ordinary processes on this machine")
    assert "as the unprivileged user nobody (uid 65534)" in warning


def test_the_warning_otherwise_says_programs_ran_as_the_graders_own_user(monkeypatch):
    monkeypatch.setattr(local.os, "geteuid", lambda: 1000)
    assert student_user() is None
    assert "as the user running the grader" in not_sandboxed_warning(None)


# --- as root: limits, and nothing outlives its run ------------------------------------------


@needs_root
def test_a_student_program_gets_the_sandboxs_resource_limits(run_probe):
    names = [name for name, _ in local.LIMITS.pairs(per_user=True)]
    limits = run_probe(f"import resource\nresult = [resource.getrlimit(getattr(resource, n)) for n in {names!r}]")
    assert limits == [[value, value] for _, value in local.LIMITS.pairs(per_user=True)]


@needs_root
def test_a_student_program_cannot_make_a_file_larger_than_the_limit(run_probe):
    chunks = local.LIMITS.file_size // 2**20 + 1  # one MiB more than the limit
    result = run_probe(
        "import signal, tempfile\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "kept = tempfile.TemporaryFile(buffering=0)\nfd = kept.fileno()\n"
        f"try:\n    for _ in range({chunks}):\n        os.write(fd, bytes(2**20))\n"
        "    result = 'written'\nexcept OSError as exc:\n    result = exc.strerror"
    )
    assert result == "File too large"


DAEMON = """
read_end, write_end = os.pipe()
if os.fork() == 0:
    os.setsid()  # out of the program's session and process group
    if os.fork() == 0:
        os.write(write_end, str(os.getpid()).encode())
        time.sleep(120)
    os._exit(0)
result = int(os.read(read_end, 32))
"""


@needs_root
def test_a_daemon_that_left_its_session_dies_with_its_program(run_probe):
    daemon = run_probe(DAEMON)
    assert not psutil.pid_exists(daemon), psutil.Process(daemon).as_dict(["status", "ppid", "uids"])


@needs_root
@pytest.mark.parametrize(("name", "problem"), [("socketlab-no-such-user", "no such user"), ("root", "is root")])
def test_a_student_account_that_is_missing_or_root_stops_the_grading(monkeypatch, name, problem):
    monkeypatch.setenv(local.STUDENT_USER_VARIABLE, name)
    with pytest.raises(local.SandboxError, match=problem):
        student_user()


@needs_root
def test_the_student_account_a_set_up_names_is_the_one_the_sandbox_picks(monkeypatch):
    monkeypatch.setenv(local.STUDENT_USER_VARIABLE, "nobody")
    assert student_user() == local.StudentUser("nobody", _nobody().pw_uid, _nobody().pw_gid)
