"""A bulk download as the LMS gave it, a folder or the .zip itself: its file paths, and a way to copy one out.

Every name and size in it is the students' (and the LMS's) doing, so both kinds are
bounded before anything is read, symbolic links are never followed, and only regular
files are ever opened.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.discover import DiscoveryError, checked_members, extract
from grader.names import shown

MAX_DOWNLOAD_FILES = 50_000
MAX_DOWNLOAD_BYTES = 4 * 1024**3
MAX_TEXT_BYTES = 4 * 1024**2  # what a layout may read of one file (Gradescope's metadata of a whole class)


class DownloadError(Exception):
    """The download cannot be read at all; the message names it and the fix."""


@dataclass
class Download:
    name: str  # the folder's name, or the zip's without .zip
    paths: list[str]  # every regular file, relative, with "/"
    skipped: list[str] = field(default_factory=list)  # links and special files, never read
    _folder: Path | None = None
    _archive: zipfile.ZipFile | None = None
    _members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)

    def _in_folder(self, path: str) -> Path:
        assert self._folder is not None  # a download is a folder when it is not an archive
        return self._folder / path

    def read_text(self, path: str) -> str:
        if self._archive is not None:
            with self._archive.open(self._members[path]) as file:
                data = file.read(MAX_TEXT_BYTES)
        else:
            with self._in_folder(path).open("rb") as file:
                data = file.read(MAX_TEXT_BYTES)
        return data.decode("utf-8", errors="replace")

    def size(self, path: str) -> int:
        if self._archive is not None:
            return self._members[path].file_size
        return self._in_folder(path).lstat().st_size

    def copy(self, path: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if self._archive is not None:
            extract(self._archive, self._members[path], target)
        else:
            # O_NOFOLLOW: a file swapped for a link since it was listed is refused, not followed.
            fd = os.open(self._in_folder(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)


@contextmanager
def open_download(path: Path) -> Iterator[Download]:
    if path.is_file() and path.suffix.lower() == ".zip":
        with _zip_download(path) as download:
            yield download
    elif path.is_dir():
        yield _folder_download(path)
    else:
        raise DownloadError(f"{path}: no such folder or .zip; pass the LMS's download (the folder or the .zip itself)")


@contextmanager
def _zip_download(path: Path) -> Iterator[Download]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"{path}: not a readable zip ({exc}); download it again from the LMS") from None
    with archive:
        try:
            members = checked_members(path, archive, MAX_DOWNLOAD_FILES, MAX_DOWNLOAD_BYTES)
        except DiscoveryError as exc:
            raise DownloadError(str(exc)) from None
        named = {"/".join(parts): info for info, parts in members}
        yield Download(path.stem, sorted(named), _archive=archive, _members=named)


def _folder_download(root: Path) -> Download:
    paths: list[str] = []
    skipped: list[str] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):  # never follows a link to a folder
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            file = Path(dirpath, name)
            relative = file.relative_to(root).as_posix()
            info = file.lstat()
            if not file.is_file() or file.is_symlink():
                skipped.append(shown(relative))
                continue
            paths.append(relative)
            total += info.st_size
            if len(paths) > MAX_DOWNLOAD_FILES or total > MAX_DOWNLOAD_BYTES:
                raise DownloadError(
                    f"{root}: more than {MAX_DOWNLOAD_FILES} files or "
                    f"{MAX_DOWNLOAD_BYTES // 1024**3} GiB; pass one assignment's download"
                )
    return Download(root.name, paths, skipped, _folder=root)
