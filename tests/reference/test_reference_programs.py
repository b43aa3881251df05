"""Properties of the reference programs as files: self-contained, standard library only,
and the servers' upper-casing rule, checked in-process on arbitrary bytes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

if TYPE_CHECKING:
    from conftest import RunScript

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
PROGRAMS = ["udp_server.py", "tcp_server.py", "udp_client.py", "tcp_client.py"]
SERVERS = ["udp_server.py", "tcp_server.py"]


def load(name: str) -> ModuleType:
    # Executed from source rather than imported, so no __pycache__ lands in reference/,
    # the folder that is handed to students and mounted into containers.
    path = REFERENCE / name
    module = ModuleType(f"reference_{path.stem}")
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), path, "exec"), module.__dict__)
    return module


MODULES = {name: load(name) for name in SERVERS}


def imported_modules(name: str) -> set[str]:
    tree = ast.parse((REFERENCE / name).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name} has a relative import"
            found.add((node.module or "").split(".")[0])
    return found


@pytest.mark.parametrize("name", PROGRAMS)
def test_reference_program_imports_only_the_standard_library(name: str) -> None:
    assert imported_modules(name) <= set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize("name", PROGRAMS)
def test_reference_program_runs_standalone_and_explains_its_options(name: str, run_script: RunScript) -> None:
    result = run_script(name, "--help")
    assert result.returncode == 0
    assert b"--host" in result.stdout and b"--port" in result.stdout


@pytest.mark.parametrize("name", SERVERS)
@given(data=st.binary(max_size=512))
def test_server_uppercasing_keeps_every_byte_it_cannot_decode(name: str, data: bytes) -> None:
    # Reading the reply back the way it was made gives exactly upper() of the request's text:
    # nothing is lost, nothing raises, whatever the bytes.
    reply = MODULES[name].uppercase(data)
    assert reply.decode("utf-8", "surrogateescape") == data.decode("utf-8", "surrogateescape").upper()


@pytest.mark.parametrize("name", SERVERS)
@given(text=st.text(alphabet=st.characters(max_codepoint=127)))
def test_server_uppercasing_of_ascii_is_bytes_upper(name: str, text: str) -> None:
    assert MODULES[name].uppercase(text.encode()) == text.encode().upper()
