"""Socket-lab grader: grades UDP/TCP uppercase socket programs from the outside."""

from pathlib import Path

__version__ = "0.1.0"
PACKAGE_DIR = Path(__file__).resolve().parent  # where the grader's own files are: specs, scripts run as files
