"""The cache key of a huge submission file costs a block of memory, not the file's size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SIZE = 600 * 1024**2  # sparse: it takes no disk
PEAK_LIMIT_KIB = 200 * 1024
# VmHWM, the peak of this process's own memory: ru_maxrss would carry over the peak of the
# process that forked it (Linux keeps it across exec), which in a long test run is pytest's.
MEASURE = (
    "import re, sys; from pathlib import Path; from grader.cache import submission_digest; "
    "submission_digest(Path(sys.argv[1])); "
    "print(re.search(r'VmHWM:\\s+(\\d+) kB', Path('/proc/self/status').read_text())[1])"
)


@pytest.mark.parametrize("as_zip", [False, True], ids=["file in a folder", "the submission file itself"])
def test_a_600_mb_file_is_hashed_in_blocks(tmp_path: Path, as_zip: bool) -> None:
    big = tmp_path / "student" / ("student.zip" if as_zip else "data.bin")
    big.parent.mkdir()
    with big.open("wb") as file:
        file.truncate(SIZE)
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(big if as_zip else big.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(run.stdout) < PEAK_LIMIT_KIB
