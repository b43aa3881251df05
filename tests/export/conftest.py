"""The platform tests' one fixture: each platform's bundle, exported once per session through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from platform_runs import export


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Callable[[str], Path]:
    """exported(platform): the folder `grader export PLATFORM --out` wrote."""
    made: dict[str, Path] = {}

    def folder(platform: str) -> Path:
        if platform not in made:
            made[platform] = tmp_path_factory.mktemp(f"{platform}-export")
            export(platform, made[platform])
        return made[platform]

    return folder
