"""Autolab end to end: `grader export autolab`, its autograde-Makefile run by `make` in a scratch folder that
holds what Autolab copies there (the Makefile, autograde.tar, the student's handin.zip).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from platform_runs import ASSIGNMENT, environment, open_root, points_of, reference_files, run

ROLES = ("udp_server", "udp_client", "tcp_server", "tcp_client")


@pytest.fixture(scope="module")
def bundle(exported) -> Path:
    return exported("autolab")


def _grade(exported: Path, files: dict[str, str], prefix: str) -> tuple[int, list[str]]:
    with open_root(prefix) as root:
        shutil.copy(exported / "autograde-Makefile", root / "Makefile")
        shutil.copy(exported / "autograde.tar", root / "autograde.tar")
        with zipfile.ZipFile(root / "handin.zip", "w") as handin:
            for name, text in files.items():
                handin.writestr(name, text)
        proc = run(["make", "--no-print-directory", "-s"], root, environment(root / "autograde" / "socketlab-grader"))
        return proc.returncode, (proc.stdout + proc.stderr).splitlines()


@pytest.fixture(scope="module")
def reference(bundle) -> tuple[int, list[str]]:
    return _grade(bundle, reference_files(), "autolab-reference")


@pytest.fixture(scope="module")
def without_tcp_server(bundle) -> tuple[int, list[str]]:
    return _grade(bundle, reference_files(without=("tcp_server",)), "autolab-broken")


def test_the_last_line_gives_every_check_group_its_full_points_for_the_reference(reference):
    returncode, lines = reference
    assert returncode == 0, "\n".join(lines)
    assert json.loads(lines[-1]) == {"scores": {role: points_of(role) for role in ROLES}}


def test_the_scores_add_up_to_the_assignments_maximum(reference):
    assert sum(json.loads(reference[1][-1])["scores"].values()) == ASSIGNMENT.max_points


def test_a_missing_tcp_server_scores_zero_in_its_group_alone(without_tcp_server):
    returncode, lines = without_tcp_server
    assert returncode == 0
    assert json.loads(lines[-1]) == {"scores": {role: 0 if role == "tcp_server" else points_of(role) for role in ROLES}}


def test_the_feedback_comes_before_the_scores(without_tcp_server):
    text = "\n".join(without_tcp_server[1][:-1])
    assert "## What cost points" in text and "tcp_server.basic" in text
