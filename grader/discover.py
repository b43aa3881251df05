"""Find which file of a student's submission plays which role (UDP/TCP server/client).

Students name and structure their work freely, write Python 2 or code that does not even
parse, so discovery reads the source as text: a few regexes over the code with comments
and string literals blanked out, plus the words in each file's name. An optional
`grader.toml` in the submission settles any role by hand.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import tomllib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.model import NO_SOURCE, Program, Role, Source, Submission
from grader.names import shown

TOML_NAME = "grader.toml"
MAX_SOURCE_BYTES = 256 * 1024
MAX_SOURCES = 200
MAX_ZIP_BYTES = 20 * 1024 * 1024
MAX_ZIP_FILES = 1000
MAX_WALKED_FILES = 10_000  # files looked at (by name) in one submission folder
MAX_TOML_BYTES = 64 * 1024
MAX_COMMAND_ARGS = 32
MAX_COMMAND_CHARS = 4096  # a command is echoed into every check's report
MAX_NOTES = 20

# Installed or generated code is never the student's own program. __MACOSX holds the
# resource forks that macOS adds to every zip it makes.
SKIPPED_DIRS = frozenset({"__pycache__", "venv", ".venv", "site-packages", "__MACOSX"})
_ROLE_NAMES = ", ".join(role.value for role in Role)

# How sure discovery is of a claim; when two files claim one role the higher rank wins.
_NAME_ONLY, _CONTENT_AND_NAME_HINTS, _CONTENT, _CONTENT_AGREES_WITH_NAME = range(4)

_STRING_OR_COMMENT = re.compile(
    r'"""[\s\S]*?"""'
    r"|'''[\s\S]*?'''"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'"
    r"|#[^\n]*"
)

# Each signal is named as found_by shows it to students.
_SIGNALS = {
    label: re.compile(pattern)
    for label, pattern in {
        "SOCK_DGRAM": r"\bSOCK_DGRAM\b",
        "SOCK_STREAM": r"\bSOCK_STREAM\b",
        "socket()": r"\bsocket\s*\(",
        "import socket": r"\bimport\s+socket\b|\bfrom\s+socket\s+import\b",
        # `sock.bind = (host, port)` is a common slip for `sock.bind((host, port))`:
        # the student still meant a server, and the grader should report it as a broken one.
        "bind": r"\.bind\s*\(|\bbind\s*=(?!=)",
        "listen": r"\.listen\s*\(",
        "accept": r"\.accept\s*\(",
        "connect": r"\.connect\s*\(",
        "sendto": r"\.sendto\s*\(",
        "recvfrom": r"\.recvfrom\s*\(",
        "socketserver": r"\b(?:socketserver|SocketServer)\b",
        "socketserver.UDPServer": r"\b(?:Threading|Forking)?UDPServer\b|\bDatagramRequestHandler\b",
        "socketserver.TCPServer": r"\b(?:Threading|Forking)?TCPServer\b|\bStreamRequestHandler\b",
        "create_datagram_endpoint": r"\bcreate_datagram_endpoint\s*\(",
        "local_addr": r"\blocal_addr\s*=",
        "remote_addr": r"\bremote_addr\s*=",
        "start_server": r"\bstart_server\s*\(",
        "create_server": r"\bcreate_server\s*\(",
        "open_connection": r"\bopen_connection\s*\(",
        "create_connection": r"\bcreate_connection\s*\(",
    }.items()
}
_TRANSPORT_OF = {"SOCK_DGRAM": "udp", "SOCK_STREAM": "tcp", "socket()": "tcp"}

# `message, clientAddress = sock.recvfrom(2048)` ... `sock.sendto(reply, clientAddress)`
_RECVFROM_SENDER = re.compile(r"\w+\s*,\s*(\w+)\s*\)?\s*=\s*[\w.\[\]]*\.recvfrom\s*\(")

_NAME_WORDS = re.compile(r"udp|tcp|server|srv|client|cli")
_ONLY_NAME_WORDS = re.compile(rf"(?:{_NAME_WORDS.pattern})+")
_CAMEL_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_NAME_SIDES = {"server": True, "srv": True, "client": False, "cli": False}


class DiscoveryError(Exception):
    """A submission cannot be read as given; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class _Hint:
    """What one source of evidence (content or file name) says about a file."""

    transport: str | None = None  # "udp" or "tcp"
    is_server: bool | None = None
    labels: tuple[str, ...] = ()  # the content signals behind it, for found_by


@dataclass(frozen=True)
class _Candidate:
    source: Path  # relative to the submission
    role: Role | None
    rank: int
    found_by: str
    socket_like: bool  # worth a note when it matches no role


def discover(path: Path, name: str | None = None) -> Submission:
    """Find the program for each role in the submission folder `path`; missing roles are absent."""
    root = _submission_dir(path)
    configured = _configured_programs(root)
    sources, notes = _python_sources(root)
    configured_sources = {program.source for program in configured.values()}
    candidates = [_examine(root, source) for source in sources if source not in configured_sources]
    open_roles = [role for role in Role if role not in configured]
    found, choice_notes = _choose(candidates, open_roles)
    programs = {role: configured.get(role) or found[role] for role in Role if role in configured or role in found}
    return Submission(
        name=name or root.name,
        path=root,
        programs=programs,
        notes=(*notes, *choice_notes, *_unmatched_notes(candidates)),
    )


def source_of(submission: Path, program: Program) -> Source:
    """The program's own file, for a look at the student's code; NO_SOURCE when it has none or cannot be read."""
    if program.source is None:
        return NO_SOURCE
    path = submission / program.source
    try:
        if _skip_reason(path) is not None:
            return NO_SOURCE
        # No link, no FIFO, even one swapped in since the check: a local run's program can write its folder.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as file:
            text = file.read(MAX_SOURCE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return NO_SOURCE
    # shown: a file name may hold bytes that are not UTF-8, which no report could write.
    return Source(shown(program.source.as_posix(), 120), text)


def how_roles_are_found(role: Role) -> str:
    """What discovery looks for, for the report of a role it did not find."""
    socket_type = "SOCK_DGRAM" if role.transport == "udp" else "SOCK_STREAM"
    side = " and bind" if role.is_server else " without bind"
    return (
        f"discovery looks for files that use {socket_type}{side}, or named like {_TEXTBOOK_NAMES[role]}; "
        f"a {TOML_NAME} can name it"
    )


_TEXTBOOK_NAMES = {
    Role.UDP_SERVER: "UDPServer.py",
    Role.UDP_CLIENT: "UDPClient.py",
    Role.TCP_SERVER: "TCPServer.py",
    Role.TCP_CLIENT: "TCPClient.py",
}


def unpack_zip(zip_path: Path, dest: Path) -> Path:
    """Extract a zipped submission into `dest`; return its single top folder, or `dest`."""
    if not zip_path.is_file():
        raise DiscoveryError(f"{shown(zip_path.name)}: no such file; check the path to the .zip")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = checked_members(zip_path, archive)
            dest.mkdir(parents=True, exist_ok=True)
            for info, parts in members:
                extract(archive, info, dest.joinpath(*parts))
    except (
        zipfile.BadZipFile,
        OSError,
        RuntimeError,
        NotImplementedError,
        ValueError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
    ) as exc:
        # RuntimeError and NotImplementedError are how zipfile reports encrypted entries
        # and compression methods it lacks; ValueError (UnicodeDecodeError among them) a
        # name that is not what its flags say; zlib, lzma and EOFError damaged data.
        # The reason, not the exception's text: that may name a folder of the grading machine.
        raise DiscoveryError(
            f"{shown(zip_path.name)}: cannot unpack ({_zip_problem(exc)}); re-create it with a standard zip tool"
        ) from exc
    return _unpacked_root(zip_path, dest, [parts for _, parts in members])


def _submission_dir(path: Path) -> Path:
    if not path.exists():
        raise DiscoveryError(f"{path}: no such folder; pass the folder that holds the student's .py files")
    if not path.is_dir():
        raise DiscoveryError(f"{path}: not a folder; pass the submission folder (unpack a .zip with unpack_zip first)")
    return path.resolve()


# --- grader.toml --------------------------------------------------------------------------


def _configured_programs(root: Path) -> dict[Role, Program]:
    toml_path = root / TOML_NAME
    if toml_path.is_symlink():
        # Followed, it would read (and echo into every report) a file of the grading machine.
        raise DiscoveryError(
            f"{TOML_NAME}: is a symbolic link, and the grader never follows links in a submission; "
            "put the file itself in the submission"
        )
    if not toml_path.exists():
        return {}
    if not toml_path.is_file():  # a FIFO would block the read for ever
        raise DiscoveryError(f"{TOML_NAME}: not a regular file; make it a text file or delete it")
    if toml_path.stat().st_size > MAX_TOML_BYTES:
        raise DiscoveryError(
            f"{TOML_NAME}: larger than {MAX_TOML_BYTES // 1024} KiB; keep only the [roles.<role>] tables"
        )
    try:
        data = tomllib.loads(toml_path.read_bytes()[:MAX_TOML_BYTES].decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DiscoveryError(
            f"{TOML_NAME}: not valid TOML ({shown(str(exc), 200)}); fix the syntax or delete the file"
        ) from exc
    except RecursionError:
        raise DiscoveryError(
            f"{TOML_NAME}: not valid TOML (arrays or tables nested too deeply); write flat [roles.<role>] tables"
        ) from None
    unknown = sorted(set(data) - {"roles"})
    if unknown:
        raise DiscoveryError(
            f"{TOML_NAME}: {shown(unknown[0], 60)}: unknown key; put every setting under [roles.<role>]"
        )
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        raise DiscoveryError(f"{TOML_NAME}: roles: must be a table; write [roles.udp_server] and so on")
    return dict(_configured_program(root, key, table) for key, table in roles.items())


def _configured_program(root: Path, key: str, table: object) -> tuple[Role, Program]:
    where = f"{TOML_NAME}: roles.{shown(key, 60)}"
    try:
        role = Role(key)
    except ValueError:
        raise DiscoveryError(f"{where}: unknown role; use one of {_ROLE_NAMES}") from None
    if not isinstance(table, dict):
        raise DiscoveryError(f'{where}: must be a table; write [roles.{key}] with file = "..." or command = [...]')
    unknown = sorted(set(table) - {"file", "command"})
    if unknown:
        raise DiscoveryError(f'{where}.{unknown[0]}: unknown key; use file = "..." or command = [...]')
    if "file" in table and "command" in table:
        raise DiscoveryError(f"{where}: has both file and command; keep only one of them")
    if "file" in table:
        return role, _configured_file(root, role, f"{where}.file", table["file"])
    if "command" in table:
        return role, _configured_command(role, f"{where}.command", table["command"])
    raise DiscoveryError(f'{where}: is empty; add file = "..." or command = [...]')


def _configured_file(root: Path, role: Role, where: str, value: object) -> Program:
    if not isinstance(value, str) or not value or len(value) > 1024 or not value.isprintable():
        raise DiscoveryError(
            f'{where}: must be a path string of printable characters, at most 1024 of them; write file = "UDPServer.py"'
        )
    target = (root / value).resolve()
    if not target.is_relative_to(root):
        raise DiscoveryError(
            f"{where}: {shown(value, 120)!r} is outside the submission; use a path relative to its folder"
        )
    if not target.is_file():
        raise DiscoveryError(
            f"{where}: {shown(value, 120)!r} not found in the submission; "
            "fix the path (relative to the submission folder)"
        )
    source = target.relative_to(root)
    return Program(role, _python_command(source), source, TOML_NAME)


def _configured_command(role: Role, where: str, value: object) -> Program:
    if not isinstance(value, list) or not value or not all(isinstance(arg, str) and arg for arg in value):
        raise DiscoveryError(f'{where}: must be a list of strings; write command = ["python3", "-u", "client.py"]')
    if len(value) > MAX_COMMAND_ARGS or sum(map(len, value)) > MAX_COMMAND_CHARS:
        raise DiscoveryError(
            f"{where}: longer than {MAX_COMMAND_ARGS} words or {MAX_COMMAND_CHARS} characters; "
            "put what the program needs in a script and run that"
        )
    if not all(arg.isprintable() for arg in value):
        # A NUL cannot reach a program at all; other control characters would reach every report.
        raise DiscoveryError(
            f"{where}: holds a control character (NUL, ESC, a line break...); write printable text only"
        )
    return Program(role, tuple(value), None, TOML_NAME)


# --- automatic discovery ------------------------------------------------------------------


def _python_sources(root: Path) -> tuple[list[Path], list[str]]:
    """The .py files worth reading, in a stable order, and notes on the ones left out (at most MAX_NOTES)."""
    sources: list[Path] = []
    notes: list[str] = []
    walked = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        walked += len(filenames)
        if walked > MAX_WALKED_FILES:
            notes.append(f"stopped looking after {MAX_WALKED_FILES} files; remove unrelated files or use {TOML_NAME}")
            break
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            # Hidden files include the "._UDPServer.py" resource forks of macOS zips.
            if filename.startswith(".") or not filename.lower().endswith(".py"):
                continue
            source = path.relative_to(root)
            skipped = _skip_reason(path)
            if skipped:
                notes.append(f"{shown(source.as_posix())}: skipped, {skipped}")
            else:
                sources.append(source)
    if len(sources) > MAX_SOURCES:
        # The files named like a role are read first, so a folder of helpers cannot hide them.
        sources.sort(key=lambda source: not _name_words(source.stem))
        notes.append(
            f"read only {MAX_SOURCES} of {len(sources)} .py files (those named like a role first); "
            f"remove unrelated files or use {TOML_NAME}"
        )
        sources = sorted(sources[:MAX_SOURCES])
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES - 1 :] = [f"... and {len(notes) - MAX_NOTES + 1} more notes"]
    return sources, notes


def _skip_reason(path: Path) -> str | None:
    if path.is_symlink():  # it could point anywhere on the grading machine
        return "a symbolic link, which the grader never follows; put the file itself in the submission"
    if not path.is_file():  # a FIFO or a device named like a program would block the read for ever
        return "not a regular file"
    if path.stat().st_size > MAX_SOURCE_BYTES:
        return f"larger than {MAX_SOURCE_BYTES // 1024} KiB"
    return None


def _examine(root: Path, source: Path) -> _Candidate:
    with (root / source).open("rb") as file:
        code = _code_only(file.read(MAX_SOURCE_BYTES).decode("utf-8", errors="replace"))
    signals = {label for label, pattern in _SIGNALS.items() if pattern.search(code)}
    content = _content_hint(signals, code)
    name = _name_hint(source.stem)
    role, rank, found_by = _combine(content, name)
    # bind/connect alone also appear in unrelated code (sqlite3.connect, keyword arguments).
    return _Candidate(source, role, rank, found_by, socket_like=bool(signals - {"bind", "connect"}))


def _code_only(text: str) -> str:
    """The source with comments dropped and string literals emptied, so words in them never count."""
    return _STRING_OR_COMMENT.sub(lambda match: "" if match.group().startswith("#") else '""', text)


def _content_hint(signals: set[str], code: str) -> _Hint:
    framework = _framework_hint(signals)
    if framework is not None:
        return framework
    transport_label = _transport_label(signals)
    transport = _TRANSPORT_OF[transport_label] if transport_label else None
    if transport == "udp":
        is_server, side_label = _udp_side(signals, code)
    elif transport == "tcp":
        is_server, side_label = _tcp_side(signals)
    else:
        is_server, side_label = _unknown_side(signals)
    labels = tuple(label for label in (transport_label, side_label) if label)
    return _Hint(transport, is_server, labels)


def _framework_hint(signals: set[str]) -> _Hint | None:
    """Servers and clients built on socketserver or asyncio rather than on bare sockets."""
    has_socketserver = "socketserver" in signals
    udp_server = has_socketserver and "socketserver.UDPServer" in signals
    tcp_server = has_socketserver and "socketserver.TCPServer" in signals
    if udp_server != tcp_server:
        label = "socketserver.UDPServer" if udp_server else "socketserver.TCPServer"
        return _Hint("udp" if udp_server else "tcp", True, (label,))
    if "create_datagram_endpoint" in signals:
        # A client may name its own local_addr too; remote_addr is what makes it a client.
        for addr, is_server in (("remote_addr", False), ("local_addr", True)):
            if addr in signals:
                return _Hint("udp", is_server, (f"create_datagram_endpoint({addr}=...)",))
        return _Hint("udp", None, ("create_datagram_endpoint",))
    for label, is_server in (
        ("start_server", True),
        ("create_server", True),
        ("open_connection", False),
        ("create_connection", False),
    ):
        if label in signals:
            return _Hint("tcp", is_server, (label,))
    return None


def _transport_label(signals: set[str]) -> str | None:
    dgram, stream = "SOCK_DGRAM" in signals, "SOCK_STREAM" in signals
    if dgram != stream:
        return "SOCK_DGRAM" if dgram else "SOCK_STREAM"
    # socket() without a type makes a SOCK_STREAM socket.
    if not dgram and "socket()" in signals and signals & {"listen", "accept", "connect"}:
        return "socket()"
    return None


def _udp_side(signals: set[str], code: str) -> tuple[bool | None, str | None]:
    if "bind" in signals:
        return True, "bind"
    if _replies_to_sender(code):
        return True, "recvfrom + sendto to the sender"
    if "sendto" in signals:
        return False, "sendto without bind"
    if "connect" in signals:
        return False, "connect"
    return None, None


def _tcp_side(signals: set[str]) -> tuple[bool | None, str | None]:
    # A server may also connect somewhere (a proxy, a self-test); listen + accept settle it.
    if {"listen", "accept"} <= signals:
        return True, "listen/accept"
    return _first_side(signals, (("connect", False), ("listen", True), ("accept", True), ("bind", True)))


def _unknown_side(signals: set[str]) -> tuple[bool | None, str | None]:
    """The side when the socket is made elsewhere, e.g. in a helper module the file imports."""
    return _first_side(
        signals, (("bind", True), ("listen", True), ("accept", True), ("connect", False), ("sendto", False))
    )


def _first_side(signals: set[str], rules: tuple[tuple[str, bool], ...]) -> tuple[bool | None, str | None]:
    return next(((is_server, label) for label, is_server in rules if label in signals), (None, None))


def _replies_to_sender(code: str) -> bool:
    """Whether a sendto() answers the address that a recvfrom() reported: a UDP server's loop."""
    return any(
        re.search(rf"\.sendto\s*\([^\n]*\b{re.escape(sender)}\s*\)", code)
        for sender in set(_RECVFROM_SENDER.findall(code))
    )


def _name_hint(stem: str) -> _Hint:
    words = _name_words(stem)
    transports = words & {"udp", "tcp"}
    sides = {_NAME_SIDES[word] for word in words if word in _NAME_SIDES}
    return _Hint(
        transport=transports.pop() if len(transports) == 1 else None,
        is_server=sides.pop() if len(sides) == 1 else None,
    )


def _name_words(stem: str) -> set[str]:
    """The role words in a file name: "UDPServer", "serverUDP", "udp_server", "UdpSrv" and "tcpclient" all count."""
    words: set[str] = set()
    for chunk in re.split(r"[^A-Za-z]+", stem):
        for piece in (chunk, *_CAMEL_PIECE.findall(chunk)):
            if _ONLY_NAME_WORDS.fullmatch(piece.lower()):
                words.update(_NAME_WORDS.findall(piece.lower()))
    return words


def _combine(content: _Hint, name: _Hint) -> tuple[Role | None, int, str]:
    """The role a file claims, how sure that is, and why; content beats the file name."""
    name_role = _role(name.transport, name.is_server)
    content_role = _role(content.transport, content.is_server)
    reason = "content: " + " + ".join(content.labels)
    if content_role is not None:
        return content_role, _CONTENT_AGREES_WITH_NAME if content_role is name_role else _CONTENT, reason
    mixed_role = _role(content.transport or name.transport, _first_known(content.is_server, name.is_server))
    if mixed_role is not None and content.labels:
        return mixed_role, _CONTENT_AND_NAME_HINTS, f"{reason} + file name"
    if name_role is not None:
        return name_role, _NAME_ONLY, "file name"
    return None, _NAME_ONLY, ""


def _first_known(*values: bool | None) -> bool | None:
    return next((value for value in values if value is not None), None)


def _role(transport: str | None, is_server: bool | None) -> Role | None:
    if transport is None or is_server is None:
        return None
    return Role(f"{transport}_{'server' if is_server else 'client'}")


def _choose(candidates: list[_Candidate], roles: list[Role]) -> tuple[dict[Role, Program], list[str]]:
    programs: dict[Role, Program] = {}
    notes: list[str] = []
    for role in roles:
        contenders = sorted((c for c in candidates if c.role is role), key=_preference)
        if not contenders:
            continue
        best, *others = contenders
        programs[role] = Program(role, _python_command(best.source), best.source, best.found_by)
        if others:
            losers = ", ".join(other.source.as_posix() for other in others)
            notes.append(f"{role.value}: chose {best.source.as_posix()} over {losers}")
    return programs, notes


def _preference(candidate: _Candidate) -> tuple[int, int, int, str]:
    path = candidate.source.as_posix()
    return -candidate.rank, len(candidate.source.parts), len(path), path


def _unmatched_notes(candidates: list[_Candidate]) -> list[str]:
    return [
        f"{c.source.as_posix()}: looks like socket code but matched no role; "
        f"name it like UDPServer.py or list it in {TOML_NAME}"
        for c in candidates
        if c.role is None and c.socket_like
    ]


def _python_command(source: Path) -> tuple[str, ...]:
    # "./-TCPServer.py", or python3 would read the file name as one of its own options.
    path = source.as_posix()
    return ("python3", "-u", f"./{path}" if path.startswith("-") else path)


def _zip_problem(exc: BaseException) -> str:
    if isinstance(exc, OSError):  # its text names the scratch folder of the grading machine
        return exc.strerror or exc.__class__.__name__
    return shown(str(exc), 200)


# --- zip files ----------------------------------------------------------------------------


def checked_members(
    zip_path: Path, archive: zipfile.ZipFile, max_files: int = MAX_ZIP_FILES, max_bytes: int = MAX_ZIP_BYTES
) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """The files to extract, after checking every entry, so nothing is written from a bad zip."""
    members = []
    total = 0
    for info in archive.infolist():
        parts = _safe_parts(zip_path, info.filename)
        if info.is_dir() or not parts or parts[0] == "__MACOSX":
            continue
        members.append((info, parts))
        # zipfile never reads more than an entry's declared size (and checks its CRC),
        # so the declared sizes bound what extraction writes.
        total += info.file_size
        if len(members) > max_files:
            raise DiscoveryError(
                f"{shown(zip_path.name)}: more than {max_files} files; zip only the submission's sources"
            )
        if total > max_bytes:
            raise DiscoveryError(
                f"{shown(zip_path.name)}: unpacks to more than {max_bytes // (1024 * 1024)} MiB; "
                "leave out data files, virtualenvs and build output"
            )
    return members


def _safe_parts(zip_path: Path, entry: str) -> tuple[str, ...]:
    # Zips made on Windows may use backslashes, which would otherwise hide a "..".
    path = PurePosixPath(entry.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"[A-Za-z]:", entry):
        raise DiscoveryError(
            f"{shown(zip_path.name)}: entry {shown(entry, 120)!r} would land outside the submission folder; "
            "zip the submission folder itself, with relative paths and no '..'"
        )
    return path.parts


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)


def _unpacked_root(zip_path: Path, dest: Path, files: list[tuple[str, ...]]) -> Path:
    # Hidden top-level files such as .DS_Store do not make a second submission folder.
    visible = [parts for parts in files if not parts[0].startswith(".")]
    if not visible:
        raise DiscoveryError(f"{shown(zip_path.name)}: holds no files; zip the submission folder with its .py files")
    tops = {parts[0] for parts in visible}
    if len(tops) == 1 and all(len(parts) > 1 for parts in visible):
        return dest / tops.pop()
    return dest
