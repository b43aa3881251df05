"""Where Chromium comes from: `make chromium` installs it, and a machine without it says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from browser import require_chromium

ROOT = Path(__file__).resolve().parents[2]


def test_without_chromium_a_developer_is_told_how_to_install_it_and_the_test_skips():
    with pytest.raises(pytest.skip.Exception, match=r"Chromium is missing.*make chromium"):
        require_chromium(lambda name: None, {})


def test_without_chromium_under_ci_the_test_fails_naming_make_chromium():
    with pytest.raises(pytest.fail.Exception, match=r"make chromium"):
        require_chromium(lambda name: None, {"CI": "true"})


def test_with_chromium_on_path_its_path_is_used():
    assert require_chromium(lambda name: f"/opt/bin/{name}", {"CI": "true"}) == "/opt/bin/chromium"


def test_the_install_script_is_quiet_and_does_nothing_where_chromium_is_there(chromium):
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-chromium.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_make_test_installs_chromium_first():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "chromium" in test_rule.split(":", 1)[1].split()
    assert "scripts/ensure-chromium.sh" in makefile
