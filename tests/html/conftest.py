"""Fixtures of the HTML report tests: headless Chromium, pages written from hand-made reports, a graded class."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from browser import require_chromium
from html_samples import hand_made

from grader import html_report, junit
from grader.model import StudentReport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "examples"
GRADER = Path(sys.executable).parent / "grader"  # the console script of this virtualenv
CLASS = ("loopback_udp_server", "small_buffer_udp_server", "textbook_udp_server")  # quick: server checks only
CHROMIUM_TIMEOUT = 90  # seconds for one page; a first start on a cold machine is the slow part
GRADE_TIMEOUT = 600


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="session")
def browse(chromium, tmp_path_factory) -> Callable[..., subprocess.CompletedProcess]:
    """Run headless Chromium on a page with the given flags; a profile of its own, so runs never share a lock."""

    def run(page: Path, *flags: str) -> subprocess.CompletedProcess:
        profile = tmp_path_factory.mktemp("chromium-profile")
        command = [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *flags,
            page.resolve().as_uri(),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    return run


@pytest.fixture(scope="session")
def dump_dom(browse) -> Callable[[Path], str]:
    """The page's DOM as Chromium built it (after parsing, so what a browser would really run or show)."""
    return lambda page: browse(page, "--dump-dom").stdout


@pytest.fixture(scope="session")
def hand_made_reports() -> list[StudentReport]:
    return hand_made()


@pytest.fixture(scope="session")
def hand_made_pages(hand_made_reports, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    for name, text in html_report.pages(hand_made_reports).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, docker_ready) -> tuple[Path, list[StudentReport]]:
    """Three example submissions graded by `grader grade` in Docker: its html/ folder and the reports behind it."""
    work = tmp_path_factory.mktemp("class")
    for name in CLASS:
        shutil.copytree(EXAMPLES / name, work / "submissions" / name, ignore=shutil.ignore_patterns("expected.toml"))
    done = subprocess.run(
        [str(GRADER), "grade", "submissions", "--out", "reports", "--jobs", "2"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=GRADE_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    reports = [junit.report(s) for s in junit.read_suites(work / "reports" / "gradebook.xml")]
    return work / "reports" / "html", reports
