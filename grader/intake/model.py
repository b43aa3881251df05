"""What intake knows of one student: who the LMS says they are, and which files are theirs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Identity:
    """The student as the LMS knows them; hand-back files are keyed by these, never by a guess."""

    layout: str  # canvas, moodle, github-classroom, ...
    id: str = ""  # the LMS's own id (Canvas user id, Moodle participant id, ...)
    name: str = ""
    login: str = ""

    def properties(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (
                ("lms", self.layout),
                ("lms_id", self.id),
                ("lms_name", self.name),
                ("lms_login", self.login),
            )
            if value
        }


@dataclass(frozen=True)
class Member:
    """One file of a download: where it is in the download, and where it goes in the student's folder."""

    source: PurePosixPath  # inside the download
    original: PurePosixPath  # the file name the student gave it


@dataclass(frozen=True)
class StudentFiles:
    """One student's files of a download: the latest version of each, and what was chosen."""

    key: str  # readable and unique in the download (name and id, a login): the student's report name
    identity: Identity
    members: tuple[Member, ...]
    notes: tuple[str, ...] = ()  # the latest resubmission taken, a late flag, ...
