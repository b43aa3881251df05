"""Where the HTML tests find headless Chromium, and what a machine without it is told."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping

import pytest

MISSING = (
    "Chromium is missing: the HTML report tests render pages in headless Chromium. "
    "Install it with `make chromium` (scripts/ensure-chromium.sh: Debian's chromium package)"
)


def require_chromium(which: Callable[[str], str | None] = shutil.which, environ: Mapping[str, str] = os.environ) -> str:
    """The browser's path; without it CI fails (`make test` installs it first) and anywhere else the test skips."""
    found = which("chromium")
    if found is None:
        if environ.get("CI"):
            pytest.fail(f"{MISSING}; CI runs `make test`, whose `make chromium` should have installed it")
        pytest.skip(MISSING)
    return found
