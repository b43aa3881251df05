"""LMS bulk downloads: which layout a download has, and whose file each of its files is. Pure: paths in, students out.

One function per layout, looked up by name in LAYOUTS. Each gets every file path of the
download (relative to its top, as strings with "/"), the download's own name and a reader
for the small text files some layouts explain themselves in, and returns the students it
recognises (each with the files to grade under the names the student gave them, the
latest resubmission only, and notes saying what was chosen) and how many files it
recognised. A layout that recognises nothing returns None, which is how `detect` tries them.

Formats, as the LMSs write them:
- Canvas "Download Submissions": `<lastfirst>[_late]_<userid>_<fileid>_<original>`, a
  resubmitted file as `<original stem>-<n><ext>`; `anon_<anonid>_...` under anonymous
  grading; a text entry as `<lastfirst>_<userid>_text.html`.
- Moodle "Download all submissions": `<Full Name>_<participantid>_assignsubmission_file_/<original>`
  (or flat, `..._assignsubmission_file_<original>`); `..._onlinetext_` for text entries.
- Blackboard: `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original>` and the
  attempt's `.txt` (its `Name:` line names the student).
- Brightspace: `<id>-<id> - <Full Name> - <date>/<original>`, and an `index.html`.
- Gradescope "Export Submissions": `submission_metadata.yml` (`submission_<id>:` with
  `:submitters:` `:name:`, `:sid:`, `:email:`) and one `submission_<id>/` folder each.
- GitHub Classroom (`gh classroom clone student-repos`): `<assignment>-submissions/<assignment>-<login>/`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

import yaml

from grader.intake.model import Identity, Member, StudentFiles

ReadText = Callable[[str], str]  # a small file of the download as text (bounded by the caller)
GRADESCOPE_METADATA = "submission_metadata.yml"
Layout = Callable[[list[str], str, ReadText], "Parsed | None"]


@dataclass(frozen=True)
class Parsed:
    students: list[StudentFiles]
    recognised: frozenset[str]  # the files whose names the layout read, chosen or not


@dataclass(frozen=True)
class _Version:
    member: Member
    order: tuple


def _latest(versions: list[_Version], what: str) -> tuple[Member, list[str]]:
    """The latest of one file's versions, and a note when there was more than one."""
    chosen = max(versions, key=lambda v: v.order)
    if len(versions) == 1:
        return chosen.member, []
    return chosen.member, [
        f"{what}: {len(versions)} versions in the download; graded the latest ({chosen.member.source.name})"
    ]


def _sources(members: dict[str, list[Member]]) -> frozenset[str]:
    return frozenset(str(member.source) for found in members.values() for member in found)


# --- Canvas ------------------------------------------------------------------------------

_CANVAS_FILE = re.compile(r"(?P<who>[^_/]+?)(?P<late>_late)?_(?P<uid>\d+)_(?P<fid>\d+)_(?P<orig>[^/]+)", re.I)
_CANVAS_ANON = re.compile(r"anon_(?P<who>[A-Za-z0-9]+)(?P<late>_late)?_(?P<fid>\d+)_(?P<orig>[^/]+)", re.I)
_CANVAS_TEXT = re.compile(r"(?P<who>[^_/]+?)(?P<late>_late)?_(?P<uid>\d+)_text\.html", re.I)
_RESUBMITTED = re.compile(r"(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)?")


def canvas(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    files: dict[str, dict[str, list[_Version]]] = defaultdict(lambda: defaultdict(list))
    people: dict[str, Identity] = {}
    late: set[str] = set()
    recognised: set[str] = set()
    for path in paths:
        anon = _CANVAS_ANON.fullmatch(path)
        match = anon or _CANVAS_FILE.fullmatch(path) or _CANVAS_TEXT.fullmatch(path)
        if match is None:
            continue
        recognised.add(path)
        parts = match.groupdict()
        key = f"anon_{parts['who']}" if anon else f"{parts['who']}_{parts['uid']}"
        people[key] = Identity("canvas", id=parts.get("uid") or "", name=key if anon else parts["who"])
        if parts["late"]:
            late.add(key)
        original, number = _canvas_original(parts.get("orig") or "text.html")
        files[key][original].append(
            _Version(Member(PurePosixPath(path), PurePosixPath(original)), (number, int(parts.get("fid") or 0)))
        )
    if not people:
        return None
    students = []
    for key, by_name in files.items():
        members, notes = [], []
        for original, versions in sorted(by_name.items()):
            member, file_notes = _latest(versions, original)
            members.append(member)
            notes += file_notes
            if not file_notes and not member.source.name.endswith(f"_{original}"):
                notes.append(
                    f"{original}: Canvas renamed it for a resubmission; graded under the student's name for it"
                )
        if key in late:
            notes.append("Canvas marked this submission late")
        students.append(StudentFiles(key, people[key], tuple(members), tuple(notes)))
    return Parsed(students, frozenset(recognised))


def _canvas_original(name: str) -> tuple[str, int]:
    """`UDPServer-2.py` -> (`UDPServer.py`, 2): Canvas's suffix for a file handed in again."""
    match = _RESUBMITTED.fullmatch(name)
    if match is None:
        return name, 0
    return match["stem"] + (match["ext"] or ""), int(match["n"])


# --- Moodle ------------------------------------------------------------------------------

_MOODLE = re.compile(r"(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>file|onlinetext)_(?P<rest>.*)")


def moodle(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    members: dict[str, list[Member]] = defaultdict(list)
    people: dict[str, Identity] = {}
    for path in paths:
        top, _, below = path.partition("/")
        match = _MOODLE.fullmatch(top)
        if match is None:
            continue
        original = f"{match['rest']}/{below}" if match["rest"] and below else match["rest"] or below
        if not original:
            continue
        key = f"{match['name']}_{match['pid']}"
        people[key] = Identity("moodle", id=match["pid"], name=match["name"])
        members[key].append(Member(PurePosixPath(path), PurePosixPath(original)))
    if not people:
        return None
    # Moodle's download holds each student's last attempt only: nothing to choose.
    return Parsed([StudentFiles(key, people[key], tuple(found)) for key, found in members.items()], _sources(members))


# --- Blackboard --------------------------------------------------------------------------

_BLACKBOARD = re.compile(
    r"(?P<assignment>.+)_(?P<user>[^_/]+)_attempt_(?P<date>\d{4}(?:-\d\d){5})"
    r"(?:_(?P<orig>[^/]+)|\.txt)"
)
_BLACKBOARD_NAME = re.compile(r"^Name:\s*(?P<name>.+?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)


def blackboard(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    attempts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        match = _BLACKBOARD.fullmatch(path)
        if match is not None:
            attempts[match["user"]][match["date"]].append(path)
    if not attempts:
        return None
    students = []
    for user, by_date in attempts.items():
        date = max(by_date)  # YYYY-MM-DD-HH-MM-SS sorts as time does
        chosen = by_date[date]
        full_name = ""
        members = []
        for path in chosen:
            match = _BLACKBOARD.fullmatch(path)
            assert match is not None  # the attempts were gathered by this pattern
            if match["orig"] is None:
                found = _BLACKBOARD_NAME.search(read(path))
                full_name = found["name"] if found else ""
            else:
                members.append(Member(PurePosixPath(path), PurePosixPath(match["orig"])))
        notes = [f"{len(by_date)} attempts in the download; graded the latest ({date})"] if len(by_date) > 1 else []
        students.append(
            StudentFiles(user, Identity("blackboard", name=full_name, login=user), tuple(members), tuple(notes))
        )
    return Parsed(students, frozenset(p for by_date in attempts.values() for found in by_date.values() for p in found))


# --- Brightspace -------------------------------------------------------------------------

_BRIGHTSPACE = re.compile(r"(?P<ids>\d+-\d+) - (?P<name>.+?) - (?P<date>[^/]+)")
_BRIGHTSPACE_DATE = "%b %d, %Y %I%M %p"  # "Dec 1, 2026 1022 PM"


def brightspace(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    attempts: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    ids: dict[str, str] = {}
    for path in paths:
        top, _, below = path.partition("/")
        match = _BRIGHTSPACE.fullmatch(top)
        if match is None or not below:
            continue
        attempts[match["name"]][match["date"]].append((path, below))
        ids[match["name"]] = max(ids.get(match["name"], ""), match["ids"])
    if not attempts:
        return None
    students = []
    for full_name, by_date in attempts.items():
        date = max(by_date, key=_brightspace_time)
        members = tuple(Member(PurePosixPath(path), PurePosixPath(below)) for path, below in by_date[date])
        notes = (f"{len(by_date)} submissions in the download; graded the latest ({date})",) if len(by_date) > 1 else ()
        students.append(
            StudentFiles(
                f"{full_name}_{ids[full_name]}",
                Identity("brightspace", id=ids[full_name], name=full_name),
                members,
                notes,
            )
        )
    return Parsed(
        students, frozenset(path for by_date in attempts.values() for found in by_date.values() for path, _ in found)
    )


def _brightspace_time(text: str) -> tuple[datetime, str]:
    try:
        return datetime.strptime(text, _BRIGHTSPACE_DATE), text
    except ValueError:
        return datetime.min, text


# --- Gradescope -------------------------------------------------------------------------


def gradescope(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    metadata = [p for p in paths if PurePosixPath(p).name == GRADESCOPE_METADATA and p.count("/") <= 1]
    if len(metadata) != 1:
        return None
    top = metadata[0][: -len(GRADESCOPE_METADATA)]  # "" or "<export folder>/"
    try:
        records = yaml.safe_load(read(metadata[0]))  # safe_load: data only, never an object of the YAML's choosing
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(records, dict):
        return None
    members: dict[str, list[Member]] = defaultdict(list)
    for path in paths:
        folder, _, below = path.removeprefix(top).partition("/")
        if folder in records and below:
            members[folder].append(Member(PurePosixPath(path), PurePosixPath(below)))
    students = []
    for folder, found in members.items():
        submitters = (records[folder] or {}).get(":submitters") if isinstance(records[folder], dict) else None
        first = submitters[0] if isinstance(submitters, list) and submitters and isinstance(submitters[0], dict) else {}
        identity = Identity(
            "gradescope",
            id=str(first.get(":sid") or ""),
            name=str(first.get(":name") or ""),
            login=str(first.get(":email") or ""),
        )
        notes = (
            (f"a group submission of {len(submitters)}; graded once, under its first submitter",)
            if isinstance(submitters, list) and len(submitters) > 1
            else ()
        )
        students.append(
            StudentFiles(f"{identity.name}_{folder}" if identity.name else folder, identity, tuple(found), notes)
        )
    return Parsed(students, frozenset({metadata[0]}) | _sources(members))


# --- GitHub Classroom --------------------------------------------------------------------

_CLASSROOM_SUFFIX = "-submissions"


def github_classroom(paths: list[str], name: str, read: ReadText) -> Parsed | None:
    tops = {path.partition("/")[0] for path in paths}
    outer = ""
    if len(tops) == 1 and next(iter(tops)).endswith(_CLASSROOM_SUFFIX):
        name = outer = tops.pop()
    if not name.endswith(_CLASSROOM_SUFFIX) or name == _CLASSROOM_SUFFIX:
        return None
    prefix = name[: -len(_CLASSROOM_SUFFIX)] + "-"
    members: dict[str, list[Member]] = defaultdict(list)
    for path in paths:
        top, _, below = path.removeprefix(f"{outer}/" if outer else "").partition("/")
        if top.startswith(prefix) and len(top) > len(prefix) and below:
            members[top[len(prefix) :]].append(Member(PurePosixPath(path), PurePosixPath(below)))
    if not members:
        return None
    return Parsed(
        [
            StudentFiles(login, Identity("github-classroom", login=login), tuple(found))
            for login, found in members.items()
        ],
        _sources(members),
    )


LAYOUTS: dict[str, Layout] = {
    "canvas": canvas,
    "moodle": moodle,
    "blackboard": blackboard,
    "brightspace": brightspace,
    "gradescope": gradescope,
    "github-classroom": github_classroom,
}
FOLDERS = "folders"  # no LMS: one folder or .zip per student (grader.roster)
LAYOUT_NAMES = (FOLDERS, *LAYOUTS)


def detect(paths: list[str], name: str, read: ReadText) -> tuple[str, Parsed] | None:
    """The first layout that recognises most of the download's files, or None (a plain folder of students)."""
    for layout, parse in LAYOUTS.items():
        parsed = parse(paths, name, read)
        if parsed is not None and 2 * len(parsed.recognised) >= len(_visible(paths)):
            return layout, parsed
    return None


def _visible(paths: list[str]) -> list[str]:
    # Brightspace's index.html and the hidden files of the zip tools are no one's work.
    return [
        p
        for p in paths
        if not any(part.startswith(".") or part == "__MACOSX" for part in p.split("/")) and p != "index.html"
    ]
