"""Discovery: which file of a student's submission plays which role."""

from __future__ import annotations

import ast
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.discover import MAX_ZIP_BYTES, MAX_ZIP_FILES, DiscoveryError, discover, source_of, unpack_zip
from grader.model import Program, Role

REFERENCE = Path(__file__).resolve().parents[2] / "reference"

UDP_SERVER = """\
from socket import *
serverPort = 12000
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print("The server is ready to receive")
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
"""

UDP_CLIENT = """\
from socket import *
serverName = 'hostname'
serverPort = 12000
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input('Input lowercase sentence:')
clientSocket.sendto(message.encode(), (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode())
clientSocket.close()
"""

TCP_SERVER = """\
from socket import *
serverPort = 12000
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(1)
print('The server is ready to receive')
while True:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence.encode())
    connectionSocket.close()
"""

TCP_CLIENT = """\
from socket import *
serverName = 'servername'
serverPort = 12000
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
sentence = input('Input lowercase sentence:')
clientSocket.send(sentence.encode())
modifiedSentence = clientSocket.recv(1024)
print('From Server: ', modifiedSentence.decode())
clientSocket.close()
"""

TEXTBOOK = {
    "UDPServer.py": (UDP_SERVER, Role.UDP_SERVER),
    "UDPClient.py": (UDP_CLIENT, Role.UDP_CLIENT),
    "TCPServer.py": (TCP_SERVER, Role.TCP_SERVER),
    "TCPClient.py": (TCP_CLIENT, Role.TCP_CLIENT),
}


def write(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


# --- finding roles by content and file name -----------------------------------------------


@pytest.mark.parametrize("filename", ["UDPServer.py", "serverUDP.py", "udp_server.py", "UdpSrv.py", "server1.py"])
def test_a_textbook_udp_server_is_found_whatever_its_file_is_called(tmp_path: Path, filename: str) -> None:
    submission = discover(write(tmp_path, {filename: UDP_SERVER}))

    assert submission.programs == {
        Role.UDP_SERVER: Program(
            Role.UDP_SERVER, ("python3", "-u", filename), Path(filename), "content: SOCK_DGRAM + bind"
        )
    }


def test_the_four_textbook_files_in_one_folder_each_get_their_role(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {name: text for name, (text, _) in TEXTBOOK.items()}))

    assert {role: program.source for role, program in submission.programs.items()} == {
        role: Path(name) for name, (_, role) in TEXTBOOK.items()
    }
    assert all(program.found_by.startswith("content: ") for program in submission.programs.values())
    assert submission.notes == ()


def test_the_submission_is_named_after_its_folder_unless_a_name_is_given(tmp_path: Path) -> None:
    folder = write(tmp_path / "alice", {"UDPServer.py": UDP_SERVER})

    assert discover(folder).name == "alice"
    assert discover(folder, name="alice-smith").name == "alice-smith"
    assert discover(folder).path == folder.resolve()


def test_files_in_subfolders_are_found_with_a_posix_path_relative_to_the_submission(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"lab2/part b/TCPClient.py": TCP_CLIENT}))

    program = submission.programs[Role.TCP_CLIENT]
    assert program.command == ("python3", "-u", "lab2/part b/TCPClient.py")
    assert program.source == Path("lab2/part b/TCPClient.py")


def test_a_tcp_client_is_recognised_by_its_connect_call(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"client.py": TCP_CLIENT}))

    assert submission.programs[Role.TCP_CLIENT].found_by == "content: SOCK_STREAM + connect"


def test_a_tcp_server_that_also_connects_is_still_a_server(tmp_path: Path) -> None:
    self_test = "\nprobe = socket(AF_INET, SOCK_STREAM)\nprobe.connect(('localhost', serverPort))\n"
    submission = discover(write(tmp_path, {"main.py": TCP_SERVER + self_test}))

    assert list(submission.programs) == [Role.TCP_SERVER]


def test_a_socket_made_without_a_type_is_tcp(tmp_path: Path) -> None:
    code = "import socket\ns = socket.socket()\ns.connect(('localhost', 12000))\n"
    submission = discover(write(tmp_path, {"main.py": code}))

    assert submission.programs[Role.TCP_CLIENT].found_by == "content: socket() + connect"


@pytest.mark.parametrize(
    "bind_line",
    ["serverSocket.bind = ('', serverPort)", "bind = ('', 12000)"],
)
def test_a_server_that_assigns_to_bind_instead_of_calling_it_is_still_a_server(tmp_path: Path, bind_line: str) -> None:
    code = UDP_SERVER.replace("serverSocket.bind(('', serverPort))", bind_line)
    submission = discover(write(tmp_path, {"prog.py": code}))

    assert submission.programs[Role.UDP_SERVER].found_by == "content: SOCK_DGRAM + bind"


def test_a_udp_server_that_forgot_bind_is_recognised_by_replying_to_the_sender(tmp_path: Path) -> None:
    code = UDP_SERVER.replace("serverSocket.bind(('', serverPort))\n", "")
    submission = discover(write(tmp_path, {"prog.py": code}))

    assert submission.programs[Role.UDP_SERVER].found_by == "content: SOCK_DGRAM + recvfrom + sendto to the sender"


def test_a_udp_client_that_drains_its_socket_before_sending_is_still_a_client(tmp_path: Path) -> None:
    code = "def drain(s):\n    s.recvfrom(2048)\n\n" + UDP_CLIENT
    submission = discover(write(tmp_path, {"prog.py": code}))

    assert list(submission.programs) == [Role.UDP_CLIENT]


def test_python_2_code_that_does_not_parse_under_python_3_is_still_discovered(tmp_path: Path) -> None:
    udp_client = (
        "from socket import *\n"
        "clientSocket = socket(AF_INET, SOCK_DGRAM)\n"
        "message = raw_input('Input lowercase sentence:')\n"
        "clientSocket.sendto(message, ('localhost', 12000))\n"
        "modifiedMessage, serverAddress = clientSocket.recvfrom(2048)\n"
        "print modifiedMessage\n"
    )
    tcp_server = TCP_SERVER.replace("print('The server is ready to receive')", "print 'The server is ready'")
    with pytest.raises(SyntaxError):
        ast.parse(udp_client)

    submission = discover(write(tmp_path, {"a.py": udp_client, "b.py": tcp_server}))

    assert {role: program.source for role, program in submission.programs.items()} == {
        Role.UDP_CLIENT: Path("a.py"),
        Role.TCP_SERVER: Path("b.py"),
    }


def test_a_file_with_a_syntax_error_and_odd_bytes_is_still_discovered(tmp_path: Path) -> None:
    (tmp_path / "srv.py").write_bytes(b"# caf\xe9\n" + TCP_SERVER.encode() + b"\nwhile True print('oops'\n")

    assert list(discover(tmp_path).programs) == [Role.TCP_SERVER]


@pytest.mark.parametrize(
    ("code", "role", "found_by"),
    [
        (
            (
                "import socketserver\n"
                "class H(socketserver.DatagramRequestHandler):\n"
                "    def handle(self):\n        self.wfile.write(self.rfile.read().upper())\n"
                "socketserver.UDPServer(('', 12000), H).serve_forever()\n"
            ),
            Role.UDP_SERVER,
            "content: socketserver.UDPServer",
        ),
        (
            (
                "import SocketServer\n"
                "class H(SocketServer.BaseRequestHandler):\n"
                "    def handle(self):\n        self.request.sendall(self.request.recv(1024).upper())\n"
                "SocketServer.ThreadingTCPServer(('', 12000), H).serve_forever()\n"
            ),
            Role.TCP_SERVER,
            "content: socketserver.TCPServer",
        ),
    ],
    ids=["udp", "tcp-python2"],
)
def test_socketserver_servers_are_found(tmp_path: Path, code: str, role: Role, found_by: str) -> None:
    submission = discover(write(tmp_path, {"app.py": code}))

    assert submission.programs[role].found_by == found_by
    assert list(submission.programs) == [role]


@pytest.mark.parametrize(
    ("code", "role"),
    [
        (
            (
                "import asyncio\n"
                "async def handle(reader, writer):\n"
                "    writer.write((await reader.read(1024)).upper())\n"
                "async def main():\n"
                "    server = await asyncio.start_server(handle, '0.0.0.0', 12000)\n"
                "    await server.serve_forever()\n"
                "asyncio.run(main())\n"
            ),
            Role.TCP_SERVER,
        ),
        (
            (
                "import asyncio\n"
                "async def main():\n"
                "    loop = asyncio.get_running_loop()\n"
                "    transport, protocol = await loop.create_datagram_endpoint(\n"
                "        lambda: Client(), remote_addr=('127.0.0.1', 12000))\n"
                "asyncio.run(main())\n"
            ),
            Role.UDP_CLIENT,
        ),
        (
            (
                "import asyncio\n"
                "async def main():\n"
                "    loop = asyncio.get_running_loop()\n"
                "    await loop.create_datagram_endpoint(Echo, local_addr=('0.0.0.0', 12000))\n"
            ),
            Role.UDP_SERVER,
        ),
        (
            (
                "import asyncio\n"
                "async def main():\n"
                "    reader, writer = await asyncio.open_connection('127.0.0.1', 12000)\n"
            ),
            Role.TCP_CLIENT,
        ),
    ],
    ids=["tcp-server", "udp-client", "udp-server", "tcp-client"],
)
def test_asyncio_programs_are_found(tmp_path: Path, code: str, role: Role) -> None:
    submission = discover(write(tmp_path, {"app.py": code}))

    assert list(submission.programs) == [role]
    assert submission.programs[role].found_by.startswith("content: ")


def test_socket_words_in_comments_and_strings_do_not_count(tmp_path: Path) -> None:
    tcp_server = "# Unlike the UDP version we do not use SOCK_DGRAM here.\n" + TCP_SERVER
    mentions_only = (
        '"""A UDP server would use socket(AF_INET, SOCK_DGRAM) and .bind(...)."""\n'
        "# serverSocket = socket(AF_INET, SOCK_DGRAM); serverSocket.bind(('', 12000))\n"
        "print('SOCK_DGRAM .bind( .sendto(')\n"
    )
    submission = discover(write(tmp_path, {"TCPServer.py": tcp_server, "notes.py": mentions_only}))

    assert list(submission.programs) == [Role.TCP_SERVER]
    assert submission.programs[Role.TCP_SERVER].found_by == "content: SOCK_STREAM + listen/accept"
    assert submission.notes == ()


@pytest.mark.parametrize(
    ("filename", "role"),
    [
        ("UDPServer.py", Role.UDP_SERVER),
        ("serverUDP.py", Role.UDP_SERVER),
        ("udp_server.py", Role.UDP_SERVER),
        ("UdpSrv.py", Role.UDP_SERVER),
        ("udpserver.py", Role.UDP_SERVER),
        ("UDPclient.py", Role.UDP_CLIENT),
        ("TCPClient.py", Role.TCP_CLIENT),
        ("client_tcp.py", Role.TCP_CLIENT),
        ("tcp-cli2.py", Role.TCP_CLIENT),
        ("myTcpServer.py", Role.TCP_SERVER),
    ],
)
def test_a_file_whose_socket_code_lives_in_a_helper_is_found_by_its_name(
    tmp_path: Path, filename: str, role: Role
) -> None:
    submission = discover(write(tmp_path, {filename: "from helpers import run\nrun()\n"}))

    assert submission.programs == {role: Program(role, ("python3", "-u", filename), Path(filename), "file name")}


@pytest.mark.parametrize("filename", ["server.py", "client.py", "udp.py", "climate.py", "observer_udp.py", "main.py"])
def test_a_file_name_without_transport_and_side_claims_nothing(tmp_path: Path, filename: str) -> None:
    assert discover(write(tmp_path, {filename: "print('hello')\n"})).programs == {}


def test_content_beats_the_file_name(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"UDPServer.py": TCP_SERVER}))

    assert list(submission.programs) == [Role.TCP_SERVER]


def test_a_transport_from_content_and_a_side_from_the_name_combine(tmp_path: Path) -> None:
    code = "from socket import *\nfrom helpers import serve\nserve(socket(AF_INET, SOCK_DGRAM))\n"
    submission = discover(write(tmp_path, {"server.py": code}))

    assert submission.programs[Role.UDP_SERVER].found_by == "content: SOCK_DGRAM + file name"


def test_a_missing_role_is_simply_absent(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"UDPServer.py": UDP_SERVER, "UDPClient.py": UDP_CLIENT}))

    assert set(submission.programs) == {Role.UDP_SERVER, Role.UDP_CLIENT}
    assert Role.TCP_SERVER not in submission.programs


def test_an_empty_folder_has_no_programs_and_no_notes(tmp_path: Path) -> None:
    submission = discover(tmp_path)

    assert (submission.programs, submission.notes) == ({}, ())


# --- choosing between files ---------------------------------------------------------------


def test_two_files_claiming_one_role_give_a_note_and_the_shorter_path_wins(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"UDPServer.py": UDP_SERVER, "udp_server_old.py": UDP_SERVER}))

    assert submission.programs[Role.UDP_SERVER].source == Path("UDPServer.py")
    assert submission.notes == ("udp_server: chose UDPServer.py over udp_server_old.py",)


def test_content_and_name_agreeing_beats_content_alone_beats_name_alone(tmp_path: Path) -> None:
    files = {
        "a.py": UDP_SERVER,  # content only, but the shortest path
        "old/UDPServer.py": UDP_SERVER,  # content and name agree
        "UdpSrv.py": "from helpers import run\nrun()\n",  # name only
    }
    submission = discover(write(tmp_path, files))

    assert submission.programs[Role.UDP_SERVER].source == Path("old/UDPServer.py")
    assert submission.notes == ("udp_server: chose old/UDPServer.py over a.py, UdpSrv.py",)


def test_a_top_level_file_beats_one_in_a_subfolder(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"backup/UDPServer.py": UDP_SERVER, "UDPServer_v2.py": UDP_SERVER}))

    assert submission.programs[Role.UDP_SERVER].source == Path("UDPServer_v2.py")


def test_socket_code_that_matches_no_role_gets_a_note(tmp_path: Path) -> None:
    helper = "import socket\n\ndef make():\n    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    submission = discover(write(tmp_path, {"net_helpers.py": helper, "notes.py": "x = 1\n"}))

    assert submission.programs == {}
    assert submission.notes == (
        "net_helpers.py: looks like socket code but matched no role; "
        "name it like UDPServer.py or list it in grader.toml",
    )


# --- what is read -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "folder", [".git", "__pycache__", "venv", ".venv", "env/lib/python3.11/site-packages", "__MACOSX", ".idea"]
)
def test_files_in_hidden_and_installed_code_folders_are_ignored(tmp_path: Path, folder: str) -> None:
    assert discover(write(tmp_path, {f"{folder}/UDPServer.py": UDP_SERVER})).programs == {}


def test_hidden_files_and_non_python_files_are_ignored(tmp_path: Path) -> None:
    files = {"._UDPServer.py": UDP_SERVER, "UDPServer.txt": UDP_SERVER, "UDPServer.py.bak": UDP_SERVER}

    assert discover(write(tmp_path, files)).programs == {}


def test_a_file_over_256_kib_is_skipped_with_a_note(tmp_path: Path) -> None:
    submission = discover(write(tmp_path, {"UDPServer.py": UDP_SERVER + "#" * (256 * 1024)}))

    assert submission.programs == {}
    assert submission.notes == ("UDPServer.py: skipped, larger than 256 KiB",)


def test_past_200_files_the_ones_named_like_a_role_are_still_read_with_a_note(tmp_path: Path) -> None:
    files = {f"f{i:03}.py": "x = 1\n" for i in range(200)} | {"zz/UDPServer.py": UDP_SERVER}
    submission = discover(write(tmp_path, files))

    assert submission.programs[Role.UDP_SERVER].source == Path("zz/UDPServer.py")
    assert submission.notes == (
        "read only 200 of 201 .py files (those named like a role first); remove unrelated files or use grader.toml",
    )


def test_the_reference_solutions_are_each_found_in_their_role() -> None:
    submission = discover(REFERENCE)

    assert {role: program.source for role, program in submission.programs.items()} == {
        Role.UDP_SERVER: Path("udp_server.py"),
        Role.UDP_CLIENT: Path("udp_client.py"),
        Role.TCP_SERVER: Path("tcp_server.py"),
        Role.TCP_CLIENT: Path("tcp_client.py"),
    }


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400))
def test_any_text_in_a_python_file_is_read_without_crashing(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "UDPServer.py").write_text(text, encoding="utf-8", errors="surrogatepass")
        submission = discover(Path(folder))
    assert set(submission.programs) <= {Role.UDP_SERVER, Role.UDP_CLIENT, Role.TCP_SERVER, Role.TCP_CLIENT}


# --- grader.toml --------------------------------------------------------------------------


def test_grader_toml_names_the_file_for_a_role_and_the_others_are_still_discovered(tmp_path: Path) -> None:
    files = {name: text for name, (text, _) in TEXTBOOK.items()} | {
        "src/my_udp_srv.py": UDP_SERVER,
        "grader.toml": '[roles.udp_server]\nfile = "src/my_udp_srv.py"\n',
    }
    submission = discover(write(tmp_path, files))

    assert submission.programs[Role.UDP_SERVER] == Program(
        Role.UDP_SERVER, ("python3", "-u", "src/my_udp_srv.py"), Path("src/my_udp_srv.py"), "grader.toml"
    )
    assert submission.programs[Role.UDP_CLIENT].source == Path("UDPClient.py")
    assert submission.programs[Role.TCP_CLIENT].source == Path("TCPClient.py")
    assert submission.notes == ()


def test_grader_toml_can_give_an_explicit_command(tmp_path: Path) -> None:
    toml = '[roles.tcp_client]\ncommand = ["python3", "-u", "client.py", "--fast"]\n'
    submission = discover(write(tmp_path, {"grader.toml": toml, "TCPServer.py": TCP_SERVER}))

    assert submission.programs == {
        Role.TCP_SERVER: Program(
            Role.TCP_SERVER,
            ("python3", "-u", "TCPServer.py"),
            Path("TCPServer.py"),
            "content: SOCK_STREAM + listen/accept",
        ),
        Role.TCP_CLIENT: Program(Role.TCP_CLIENT, ("python3", "-u", "client.py", "--fast"), None, "grader.toml"),
    }


def test_a_file_named_in_grader_toml_is_not_claimed_for_another_role(tmp_path: Path) -> None:
    toml = '[roles.udp_client]\nfile = "UDPServer.py"\n'
    submission = discover(write(tmp_path, {"grader.toml": toml, "UDPServer.py": UDP_CLIENT}))

    assert list(submission.programs) == [Role.UDP_CLIENT]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[roles.udp_server\nfile = 'x.py'\n", ["grader.toml", "not valid TOML", "fix the syntax"]),
        (
            '[roles.udp_sever]\nfile = "UDPServer.py"\n',
            ["grader.toml: roles.udp_sever: unknown role; use one of udp_server, udp_client, tcp_server, tcp_client"],
        ),
        ('[roles.udp_server]\nfiel = "UDPServer.py"\n', ["grader.toml: roles.udp_server.fiel: unknown key", "file ="]),
        ('[role.udp_server]\nfile = "UDPServer.py"\n', ["grader.toml: role: unknown key", "[roles.<role>]"]),
        (
            '[roles.udp_server]\nfile = "src/missing.py"\n',
            ["grader.toml: roles.udp_server.file", "not found", "fix the path"],
        ),
        ('[roles.udp_server]\nfile = "../UDPServer.py"\n', ["grader.toml: roles.udp_server.file", "outside"]),
        (
            '[roles.udp_server]\nfile = "UDPServer.py"\ncommand = ["python3", "UDPServer.py"]\n',
            ["grader.toml: roles.udp_server: has both file and command; keep only one"],
        ),
        (
            '[roles.tcp_client]\ncommand = "python3 client.py"\n',
            ["grader.toml: roles.tcp_client.command", "list of strings"],
        ),
        ("[roles.tcp_client]\n", ["grader.toml: roles.tcp_client: is empty", "file ="]),
        ('roles = "UDPServer.py"\n', ["grader.toml: roles: must be a table"]),
    ],
    ids=[
        "bad-toml",
        "unknown-role",
        "unknown-key",
        "unknown-table",
        "missing-file",
        "outside-file",
        "file-and-command",
        "command-not-list",
        "empty-role",
        "roles-not-table",
    ],
)
def test_a_broken_grader_toml_names_the_file_the_key_and_the_fix(
    tmp_path: Path, toml: str, expected: list[str]
) -> None:
    folder = write(tmp_path / "sub", {"grader.toml": toml, "UDPServer.py": UDP_SERVER})
    write(tmp_path, {"UDPServer.py": UDP_SERVER})

    with pytest.raises(DiscoveryError) as error:
        discover(folder)

    for fragment in expected:
        assert fragment in str(error.value)


# --- the submission folder ----------------------------------------------------------------


def test_a_folder_that_does_not_exist_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-student"

    with pytest.raises(DiscoveryError, match="no-such-student: no such folder; pass the folder"):
        discover(missing)


def test_a_file_instead_of_a_folder_is_an_error_pointing_to_unpack_zip(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "alice.zip", {"UDPServer.py": UDP_SERVER.encode()})

    with pytest.raises(DiscoveryError, match=r"alice.zip: not a folder.*unpack_zip"):
        discover(archive)


# --- zip files ----------------------------------------------------------------------------


def test_a_zip_with_one_folder_unpacks_to_that_folder(tmp_path: Path) -> None:
    entries = {f"alice/{name}": text.encode() for name, (text, _) in TEXTBOOK.items()}
    archive = make_zip(tmp_path / "alice.zip", entries | {"__MACOSX/alice/._UDPServer.py": b"\0\1"})

    root = unpack_zip(archive, tmp_path / "out")

    assert root == tmp_path / "out" / "alice"
    assert set(discover(root).programs) == set(Role)
    assert not (tmp_path / "out" / "__MACOSX").exists()


def test_a_zip_with_files_at_its_root_unpacks_to_the_destination(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bob.zip", {"UDPServer.py": UDP_SERVER.encode(), "lib/util.py": b"x = 1\n"})

    root = unpack_zip(archive, tmp_path / "out")

    assert root == tmp_path / "out"
    assert list(discover(root).programs) == [Role.UDP_SERVER]


@pytest.mark.parametrize("entry", ["../evil.py", "alice/../../evil.py", "/tmp/evil.py", "..\\evil.py", "C:/evil.py"])
def test_a_zip_entry_that_escapes_the_destination_is_rejected_before_anything_is_written(
    tmp_path: Path, entry: str
) -> None:
    archive = make_zip(tmp_path / "evil.zip", {"alice/UDPServer.py": UDP_SERVER.encode(), entry: b"print('pwned')\n"})

    with pytest.raises(DiscoveryError, match=r"evil.zip: entry .* outside the submission folder"):
        unpack_zip(archive, tmp_path / "out")

    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.py").exists()


def test_a_zip_with_too_many_files_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(MAX_ZIP_FILES + 1)})

    with pytest.raises(DiscoveryError, match=f"many.zip: more than {MAX_ZIP_FILES} files"):
        unpack_zip(archive, tmp_path / "out")


def test_a_zip_that_unpacks_to_more_than_20_mib_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"data.bin": bytes(MAX_ZIP_BYTES + 1)})

    with pytest.raises(DiscoveryError, match=r"bomb.zip: unpacks to more than 20 MiB"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a zip at all", "cannot unpack"), (None, "no such file")],
    ids=["corrupt", "missing"],
)
def test_an_unreadable_zip_is_an_error_naming_it(tmp_path: Path, content: bytes | None, message: str) -> None:
    archive = tmp_path / "broken.zip"
    if content is not None:
        archive.write_bytes(content)

    with pytest.raises(DiscoveryError, match=f"broken.zip: {message}"):
        unpack_zip(archive, tmp_path / "out")


def test_an_empty_zip_is_an_error(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "empty.zip", {"folder/": b""})

    with pytest.raises(DiscoveryError, match=r"empty.zip: holds no files"):
        unpack_zip(archive, tmp_path / "out")


def test_a_grader_toml_that_is_a_symlink_is_refused_and_never_read(tmp_path: Path) -> None:
    host_file = tmp_path / "host-secret.toml"
    host_file.write_text('[roles.udp_server]\nfile = "secret-from-the-host.py"\n')
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "UDPServer.py").write_text(UDP_SERVER)
    (submission / "grader.toml").symlink_to(host_file)
    with pytest.raises(DiscoveryError) as raised:
        discover(submission)
    assert "symbolic link" in str(raised.value) and "secret-from-the-host" not in str(raised.value)


def _zip_with_raw_name(path: Path, raw: bytes, data: bytes = b"print(1)\n") -> None:
    """One stored entry whose name is `raw`, flagged as UTF-8 (general purpose bit 11)."""
    crc = zlib.crc32(data)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, 0, 0, 0, crc, len(data), len(data), len(raw), 0)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0x800,
        0,
        0,
        0,
        crc,
        len(data),
        len(data),
        len(raw),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + raw + data
    cd = central + raw
    path.write_bytes(body + cd + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), len(body), 0))


def test_zip_with_a_non_utf8_name_is_a_discovery_error(tmp_path):
    bad = tmp_path / "mallory.zip"
    _zip_with_raw_name(bad, b"UDPServer\xff.py")
    with pytest.raises(DiscoveryError):
        unpack_zip(bad, tmp_path / "out")


def test_zip_with_corrupt_deflate_data_is_a_discovery_error(tmp_path):
    bad = tmp_path / "trent.zip"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("UDPServer.py", b"x" * 5000)
    raw = bytearray(bad.read_bytes())
    start = 30 + len("UDPServer.py")
    raw[start : start + 8] = bytes(b ^ 0xFF for b in raw[start : start + 8])
    bad.write_bytes(bytes(raw))
    with pytest.raises(DiscoveryError):
        unpack_zip(bad, tmp_path / "out")


def test_a_fifo_named_like_a_program_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "UDPServer.py").write_text(UDP_SERVER)
    os.mkfifo(tmp_path / "TCPServer.py")  # reading it would block until a writer came
    submission = discover(tmp_path)
    assert set(submission.programs) == {Role.UDP_SERVER}


def test_a_source_whose_name_is_not_utf8_is_named_in_escapes_a_report_can_write(tmp_path):
    name = os.fsdecode(b"srv\xff.py")
    (tmp_path / name).write_text("import socket\n")
    source = source_of(tmp_path, Program(Role.UDP_SERVER, ("python3", name), Path(name)))
    assert source.name == "srv\\xff.py" and source.text == "import socket\n"
    source.name.encode("utf-8")  # a surrogate would raise here, and in every report that quotes it
