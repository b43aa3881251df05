"""`grader export PLATFORM --out DIR`: what an instructor uploads to a platform, built from this grader's source.

Every bundle carries the grader's source tree (installed on the platform, or put on its
PYTHONPATH), the course's assignment as `assignment.toml`, and the platform's own scripts
from `templates/<platform>/`, with the time limits filled in. What each holds and where it
goes is in docs/platforms.md.
"""

from __future__ import annotations

import io
import shutil
import stat
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import grader
from grader import PACKAGE_DIR
from grader.spec import Assignment

GRADER_DIR = Path(grader.__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "export" / "templates"
SOURCE_FILES = ("pyproject.toml", "README.md")  # beside grader/: what `pip install` of the tree needs
PACKAGE = "socketlab-grader"
EXECUTABLE = 0o755
PLATFORM_SLACK = 20  # seconds a platform's own limit leaves the grader beyond its time limit, to write the results


class ExportError(Exception):
    """The bundle cannot be built; the message says why and what to do."""


@dataclass(frozen=True)
class Bundle:
    """Files by their path inside the bundle: (bytes, mode)."""

    files: dict[str, tuple[bytes, int]]

    def write_tree(self, folder: Path) -> None:
        for name, (data, mode) in sorted(self.files.items()):
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)

    def zip_bytes(self) -> bytes:
        """Every file at its path from the archive's root (Gradescope looks for setup.sh there), modes kept."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, (data, mode) in sorted(self.files.items()):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return buffer.getvalue()

    def tar_bytes(self, prefix: str) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, (data, mode) in sorted(self.files.items()):
                info = tarfile.TarInfo(f"{prefix}/{name}")
                info.size, info.mode = len(data), mode
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def source_tree() -> dict[str, tuple[bytes, int]]:
    """The grader's package and what installs it, under socketlab-grader/; never a byte cache."""
    root = GRADER_DIR.parent
    missing = [name for name in SOURCE_FILES if not (root / name).is_file()]
    if missing:
        raise ExportError(
            f"{root}: no {', '.join(missing)} beside the grader package; export from the grader's "
            "source tree (a clone of its repository, installed with `make venv`)"
        )
    files = {f"{PACKAGE}/{name}": ((root / name).read_bytes(), 0o644) for name in SOURCE_FILES}
    for path in sorted(GRADER_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.is_symlink():
            files[f"{PACKAGE}/{path.relative_to(root).as_posix()}"] = (path.read_bytes(), 0o644)
    return files


def assignment_files(assignment: Assignment) -> dict[str, tuple[bytes, int]]:
    """`assignment.toml`, and the assignment it extends beside it, where `extends` looks for it."""
    data = assignment.source.read_bytes()
    files = {"assignment.toml": (data, 0o644)}
    base = tomllib.loads(data.decode("utf-8")).get("extends")
    if isinstance(base, str):
        base_path = assignment.source.parent / f"{base}.toml"
        if "/" in base or not base_path.is_file():
            raise ExportError(
                f"{assignment.source}: extends {base!r}, which is not an assignment beside it; "
                "export an assignment that extends one in its own folder, or none"
            )
        files[f"{base}.toml"] = (base_path.read_bytes(), 0o644)
    return files


def _template(platform: str, name: str, fill: dict[str, str], mode: int = 0o644) -> tuple[bytes, int]:
    text = (TEMPLATES / platform / name).read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace(f"@{key}@", value)
    return text.encode("utf-8"), mode


def bundle(platform: str, assignment: Assignment) -> Bundle:
    """The files of `platform`'s bundle for `assignment`."""
    limit = assignment.timeouts.submission
    fill = {"TIMEOUT": f"{limit:g}", "PLATFORM_TIMEOUT": f"{limit + PLATFORM_SLACK:g}"}
    files = {**source_tree(), **assignment_files(assignment)}
    if platform == "gradescope":
        files["setup.sh"] = _template(platform, "setup.sh", fill, EXECUTABLE)
        files["run_autograder"] = _template(platform, "run_autograder", fill, EXECUTABLE)
    elif platform == "prairielearn":
        files["run.sh"] = _template(platform, "run.sh", fill, EXECUTABLE)
        files["Dockerfile"] = _template(platform, "Dockerfile", fill)
        files["info.json"] = _template(platform, "info.json", fill)
    elif platform == "classroom":
        files = {f".socketlab/{name}": value for name, value in files.items()}
        files[".github/workflows/classroom.yml"] = _template(platform, "classroom.yml", fill)
    elif platform != "autolab":
        raise ExportError(f"unknown platform {platform!r}")
    return Bundle(files)


def export(platform: str, assignment: Assignment, out: Path) -> list[Path]:
    """Write `platform`'s bundle into `out`; return the files an instructor uploads (or copies)."""
    made = bundle(platform, assignment)
    out.mkdir(parents=True, exist_ok=True)
    if platform == "gradescope":
        target = out / "autograder.zip"
        target.write_bytes(made.zip_bytes())
        return [target]
    if platform == "autolab":
        tar, makefile = out / "autograde.tar", out / "autograde-Makefile"
        tar.write_bytes(made.tar_bytes("autograde"))
        makefile.write_bytes(_template("autolab", "autograde-Makefile", _fill(assignment))[0])
        return [makefile, tar]
    # A folder: PrairieLearn's image is built from it; Classroom's goes into the template repository.
    folder = out / platform
    shutil.rmtree(folder, ignore_errors=True)
    made.write_tree(folder)
    return [folder]


def _fill(assignment: Assignment) -> dict[str, str]:
    return {"TIMEOUT": f"{assignment.timeouts.submission:g}"}
