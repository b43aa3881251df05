"""Submissions whose files try to run inside the grader's own processes, one kind per student.

Used by tests/trust/test_student_files_never_run_in_the_grader.py. The files are written
from here into a temporary class folder, never kept in the repository as real files: a
`conftest.py` or a `pytest.ini` anywhere under tests/ would be picked up by the grader's
own test run.

Every hostile file carries the same payload. Wherever it runs it writes a marker (a JSON
file) naming the process: pid, parent pid, `sys.argv`, executable, working folder, uid and
whether pytest is loaded. The marker goes to the folder named by $SOCKETLAB_TRUST_MARKERS,
which the test sets for the grader, or else to FALLBACK_MARKERS on the host (for a grader
that cleans its children's environment). Student programs legitimately run inside Docker containers,
which get no host environment and a private /tmp, so a marker the test finds proves the
code ran on the host. Inside a pytest process the payload also patches
`grader.engine.Grading.run` to hand out full marks, so a hole shows as a forged score too.

Files named like a module (socket.py, docker.py, a grader/ package...) step aside once
they have left their marker: they put the real module in their place in `sys.modules`, so
a student program that imports `socket` still works, in its container, and the score of a
student that holds real programs stays what those programs earn.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

MARKER_ENV = "SOCKETLAB_TRUST_MARKERS"
FALLBACK_MARKERS = Path("/tmp/socketlab-trust-markers")
PLUGIN = "socketlab_trust_plugin"  # the module a hostile ini file loads with `-p`
PTH_HOOK = "socketlab_trust_pth_hook"  # the module a hostile .pth file imports
TEXTBOOK_FILES = ("UDPServer.py", "UDPClient.py", "TCPServer.py", "TCPClient.py")

# No socket calls, no socket words in file names: discovery must never mistake one of
# these files for a student's program.
_PAYLOAD = Template("""\
# socket-lab trust test: a hostile student file (student $case_name, file $file_name).
# Wherever it runs it leaves a marker naming the process; in a pytest process it also
# patches the grader to hand out full marks. In a grading container it reaches nothing
# the host would see.


def _socketlab_trust_step_aside(name, here, levels):
    import importlib
    import os
    import sys
    top = os.path.abspath(here)
    for _ in range(levels):
        top = os.path.dirname(top)
    mine = sys.modules.get(name)
    saved = list(sys.path)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != top]
        sys.modules.pop(name, None)
        importlib.import_module(name)  # the real module takes this one's place in sys.modules
        return "stepped aside for the real " + name
    except Exception as exc:
        if mine is not None:
            sys.modules[name] = mine
        return "no real %s to step aside for (%r)" % (name, exc)
    finally:
        sys.path[:] = saved


def _socketlab_trust_forge():
    import sys
    if "_pytest" not in sys.modules:
        return "no: not a pytest process"
    try:
        import grader.engine as engine
        from grader.model import CheckResult, Status

        def run(self, check):
            result = CheckResult(check.id, Status.PASSED, check.points, check.points,
                                 "full marks, forged by a student's $file")
            self.results.append(result)
            return result

        engine.Grading.run = run
        return "yes: grader.engine.Grading.run now hands out full marks"
    except Exception as exc:
        return "no: %r" % (exc,)


def _socketlab_trust_mark():
    import json
    import os
    import sys
    import time
    here = globals().get("__file__") or ""
    record = {"token": $token, "case": $case, "file": $file, "path": here,
              "pid": os.getpid(), "ppid": os.getppid(), "argv": list(getattr(sys, "argv", None) or []),
              "executable": sys.executable, "cwd": os.getcwd(),
              "uid": os.getuid(), "pytest_loaded": "_pytest" in sys.modules}
    if $shadows:
        record["shadowing"] = _socketlab_trust_step_aside($shadows, here, $levels)
    record["forged"] = _socketlab_trust_forge()
    folder = os.environ.get($env) or $fallback
    try:
        os.makedirs(folder, exist_ok=True)
        name = "%s-%s-%d-%d.json" % ($case, $file.replace("/", "_"), os.getpid(), time.time_ns())
        with open(os.path.join(folder, name), "w", encoding="utf-8") as out:
            json.dump(record, out)
    except OSError:
        pass  # a read-only sandbox: nowhere the host would look


try:
    _socketlab_trust_mark()
except Exception:
    pass  # a hostile file that crashes its host proves less than one that runs quietly
""")


def payload(case: str, file: str, token: str, shadows: str | None = None, levels: int = 1) -> str:
    """The source of one hostile file; `shadows`: the module it stands in for, `levels` up to its sys.path entry."""
    return _PAYLOAD.substitute(
        case_name=case,
        file_name=file,
        case=repr(case),
        file=repr(file),
        token=repr(token),
        shadows=repr(shadows),
        levels=levels,
        env=repr(MARKER_ENV),
        fallback=repr(str(FALLBACK_MARKERS)),
    )


def _ini(section: str) -> str:
    return (
        f"# socket-lab trust test: makes pytest load {PLUGIN}.py from this folder.\n"
        f"{section}\naddopts = -p {PLUGIN}\npythonpath = .\n"
    )


def _toml(table: str) -> str:
    return (
        f"# socket-lab trust test: makes pytest load {PLUGIN}.py from this folder.\n"
        f'{table}\naddopts = ["-p", "{PLUGIN}"]\npythonpath = ["."]\n'
    )


def _pyproject() -> str:
    return (
        f"# socket-lab trust test: makes pytest load {PLUGIN}.py from this folder.\n"
        f'[tool.pytest.ini_options]\naddopts = "-p {PLUGIN}"\npythonpath = ["."]\n'
    )


# path in the submission -> the test id
CONFTESTS = {
    "conftest.py": "a conftest.py at the submission's top",
    "tests/conftest.py": "a conftest.py in the submission's tests/",
    "testing/conftest.py": "a conftest.py in the submission's testing/",
}
CONFIG_FILES = {
    "pytest.ini": _ini("[pytest]"),
    ".pytest.ini": _ini("[pytest]"),
    "tox.ini": _ini("[pytest]"),
    "setup.cfg": _ini("[tool:pytest]"),
    "pyproject.toml": _pyproject(),
    "pytest.toml": _toml("[pytest]"),
}
STARTUP_HOOKS = ("sitecustomize.py", "usercustomize.py", "socketlab_trust.pth")
# Modules the grader, pytest or the CLI import (and a student program's socket): file -> (module, levels)
SHADOWS = {
    "socket.py": ("socket", 1),
    "grader.py": ("grader", 1),
    "grader/__init__.py": ("grader", 2),
    "pytest.py": ("pytest", 1),
    "_pytest/__init__.py": ("_pytest", 2),
    "docker.py": ("docker", 1),
    "junitparser.py": ("junitparser", 1),
    "rich.py": ("rich", 1),
    "psutil.py": ("psutil", 1),
}


@dataclass(frozen=True)
class Case:
    """One student of the hostile class: its folder name, what it holds, and whose score it must match."""

    name: str  # the student's folder (or .zip) name
    sentence: str  # the test id
    kind: str  # conftest, config, startup, shadow, or everything
    zipped: bool = False
    baseline: str = "control_empty"  # the control student, graded in the same run, it may not out-earn
    files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _hostile_files(case: str, token: str, kinds: set[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    if "conftest" in kinds:
        files.update({path: payload(case, path, token) for path in CONFTESTS})
    if "config" in kinds:
        files.update(CONFIG_FILES)
        files[f"{PLUGIN}.py"] = payload(case, f"{PLUGIN}.py", token)
    if "startup" in kinds:
        files["sitecustomize.py"] = payload(case, "sitecustomize.py", token)
        files["usercustomize.py"] = payload(case, "usercustomize.py", token)
        files["socketlab_trust.pth"] = f"import {PTH_HOOK}\n"
        files[f"{PTH_HOOK}.py"] = payload(case, "socketlab_trust.pth", token)
    if "shadow" in kinds:
        files.update({path: payload(case, path, token, module, levels) for path, (module, levels) in SHADOWS.items()})
    return files


def _slug(path: str) -> str:
    """A folder name for a file name: `.pytest.ini` -> `dot_pytest_ini`."""
    return ("dot_" if path.startswith(".") else "") + "".join(c if c.isalnum() else "_" for c in path.lstrip("."))


def cases(token: str) -> list[Case]:
    """Every hostile student; `token`, baked into each file, tells this run's markers from any other's."""
    found: list[Case] = []
    for path, sentence in CONFTESTS.items():
        name = f"conftest_{Path(path).parent.name or 'top'}"
        found.append(Case(name, sentence, "conftest", files={path: payload(name, path, token)}))
    name = "conftest_in_zip"
    found.append(
        Case(
            name,
            "a conftest.py inside a zipped submission",
            "conftest",
            zipped=True,
            files={
                "conftest.py": payload(name, "conftest.py", token),
                "tests/conftest.py": payload(name, "tests/conftest.py", token),
            },
        )
    )
    for path, text in CONFIG_FILES.items():
        name = f"config_{_slug(path)}"
        found.append(
            Case(
                name,
                f"a {path} with addopts = -p {PLUGIN} and pythonpath = .",
                "config",
                files={path: text, f"{PLUGIN}.py": payload(name, f"{PLUGIN}.py", token)},
            )
        )
    for path in STARTUP_HOOKS:
        name = f"startup_{_slug(path)}"
        if path.endswith(".pth"):
            files = {path: f"import {PTH_HOOK}\n", f"{PTH_HOOK}.py": payload(name, path, token)}
            sentence = f"a .pth file with an import line ({path})"
        else:
            files = {path: payload(name, path, token)}
            sentence = f"a {path}"
        found.append(Case(name, sentence, "startup", files=files))
    for path, (module, levels) in SHADOWS.items():
        what = "package" if path.endswith("__init__.py") else "module"
        name = f"shadow_{_slug(path.replace('/__init__.py', '_package'))}"
        found.append(
            Case(
                name,
                f"a {what} named like {module} ({path})",
                "shadow",
                files={path: payload(name, path, token, module, levels)},
            )
        )
    name = "everything_with_textbook_programs"
    found.append(
        Case(
            name,
            "the four textbook programs with every hostile file at once",
            "everything",
            baseline="control_textbook",
            files=_hostile_files(name, token, {"conftest", "config", "startup", "shadow"}),
        )
    )
    return found


def write_class(root: Path, hostile: list[Case], textbook: Path, controls: list[str]) -> Path:
    """One folder (or .zip) per case in `root`, with the controls named in `controls`; returns `root`.

    control_empty holds no program and no hostile file; control_textbook the four textbook programs.
    """
    root.mkdir(parents=True)
    if "control_empty" in controls:
        (root / "control_empty").mkdir()
        (root / "control_empty" / "README.txt").write_text("No program, no hostile file.\n")
    if "control_textbook" in controls:
        (root / "control_textbook").mkdir()
        for name in TEXTBOOK_FILES:
            shutil.copy(textbook / name, root / "control_textbook" / name)
    for case in hostile:
        folder = root / case.name
        folder.mkdir()
        for path, text in case.files.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        if case.kind == "everything":
            for name in TEXTBOOK_FILES:
                shutil.copy(textbook / name, folder / name)
        if case.zipped:
            with zipfile.ZipFile(root / f"{case.name}.zip", "w") as archive:
                for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                    archive.write(file, f"{case.name}/{file.relative_to(folder).as_posix()}")
            shutil.rmtree(folder)
    return root
