"""Assignment specs: the shipped TOML files load, and every broken spec says where and how to fix it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from grader.model import Role
from grader.scenarios import KINDS
from grader.scenarios.udp_exchange import UdpExchangeParams, plan
from grader.scripted_server import uppercase
from grader.spec import SpecError, Timeouts, available_assignments, load_assignment

SHIPPED = available_assignments()

UDP_CHECK = """\
[[checks]]
id = "udp_server.basic"
kind = "udp_exchange"
points = 1
"""


def write_spec(tmp_path: Path, text: str, name: str = "course.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_assignment(str(path))
    return info.value


# ------------------------------------------------------------------ shipped assignments


def test_the_uppercase_assignment_is_shipped():
    assert "uppercase" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_assignment_loads_with_points_to_earn(name):
    assignment = load_assignment(name)

    assert assignment.checks
    assert assignment.max_points > 0


def test_uppercase_uses_the_textbook_port_and_the_uppercase_rule():
    assignment = load_assignment("uppercase")

    assert assignment.port == 12000
    assert assignment.transform_name == "uppercase"
    assert assignment.transform(b"hello") == b"HELLO"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_check_id_reads_role_dot_name_and_matches_its_role(name):
    for check in load_assignment(name).checks:
        role, dot, short = check.id.partition(".")
        assert dot and short, check.id
        assert role == check.role.value, check.id


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_check_uses_a_kind_that_grades_its_role(name):
    for check in load_assignment(name).checks:
        kind = KINDS[check.kind]
        assert check.role in kind.roles, check.id
        assert isinstance(check.params, kind.params), check.id


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_check_ids_are_unique(name):
    ids = [check.id for check in load_assignment(name).checks]

    assert len(ids) == len(set(ids))


def test_checks_for_a_role_returns_only_that_roles_checks():
    assignment = load_assignment("uppercase")

    udp = assignment.checks_for(Role.UDP_SERVER)

    assert udp
    assert all(check.role is Role.UDP_SERVER for check in udp)


def test_a_minimal_spec_gets_the_documented_defaults(tmp_path):
    path = write_spec(tmp_path, UDP_CHECK)

    assignment = load_assignment(str(path))

    assert assignment.name == "course"
    assert assignment.port == 12000
    assert assignment.transform_name == "uppercase"
    assert assignment.timeouts == Timeouts()
    (check,) = assignment.checks
    assert check.required is True
    assert check.params == UdpExchangeParams()


def test_params_lists_become_tuples(tmp_path):
    path = write_spec(tmp_path, UDP_CHECK + "params = { hold = [0, 3] }\n")

    (check,) = load_assignment(str(path)).checks

    assert check.params.hold == (0, 3)


# ------------------------------------------------------------------ broken specs

BROKEN = {
    "bad TOML syntax": (
        'name = "unterminated\n' + UDP_CHECK,
        "(syntax)",
        ["TOML"],
    ),
    "unknown top-level key": (
        'nmae = "uppercase"\n' + UDP_CHECK,
        "nmae",
        ["did you mean 'name'"],
    ),
    "missing checks": (
        'name = "no checks"\n',
        "checks",
        ["[[checks]]"],
    ),
    "check without id": (
        '[[checks]]\nkind = "udp_exchange"\npoints = 1\n',
        "checks[0].id",
        ["id"],
    ),
    "id without a role prefix": (
        '[[checks]]\nid = "basic"\nkind = "udp_exchange"\npoints = 1\n',
        "checks[0].id",
        ["udp_server", "tcp_server"],
    ),
    "id with an unknown role": (
        '[[checks]]\nid = "udp.basic"\nkind = "udp_exchange"\npoints = 1\n',
        "checks[0].id",
        ["udp_server"],
    ),
    "unknown kind": (
        '[[checks]]\nid = "udp_server.basic"\nkind = "udp_echo"\npoints = 1\n',
        "checks[0].kind",
        sorted(KINDS),
    ),
    "kind used with the wrong role": (
        '[[checks]]\nid = "tcp_server.basic"\nkind = "udp_exchange"\npoints = 1\n',
        "checks[0].kind",
        ["udp_server"],
    ),
    "negative points": (
        '[[checks]]\nid = "udp_server.basic"\nkind = "udp_exchange"\npoints = -1\n',
        "checks[0].points",
        ["0"],
    ),
    "unknown param": (
        UDP_CHECK + "params = { mesages = 3 }\n",
        "checks[0].params.mesages",
        ["did you mean 'messages'"],
    ),
    "param of the wrong type": (
        UDP_CHECK + 'params = { clients = "two" }\n',
        "checks[0].params.clients",
        ["int"],
    ),
    "boolean where a number is expected": (
        UDP_CHECK + "params = { messages = true }\n",
        "checks[0].params.messages",
        ["int"],
    ),
    "duplicate id": (
        UDP_CHECK + UDP_CHECK,
        "checks[1].id",
        [],
    ),
    "unknown transform": (
        'transform = "lowercase"\n' + UDP_CHECK,
        "transform",
        ["uppercase", "module:function"],
    ),
    "port out of range": (
        "port = 70000\n" + UDP_CHECK,
        "port",
        ["65535"],
    ),
    "a scripted-server behaviour of the other transport": (
        '[[checks]]\nid = "tcp_client.x"\nkind = "client_exchange"\npoints = 1\n'
        'params = { behaviour = "wrong_port" }\n',
        "checks[0].params",
        ["slices", "close_without_reply"],
    ),
}


@pytest.mark.parametrize(("text", "key", "fix_words"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_spec_raises_spec_error_naming_file_key_and_fix(tmp_path, text, key, fix_words):
    path = write_spec(tmp_path, text)

    error = spec_error(path)

    assert error.file == str(path)
    assert error.key == key
    assert error.fix.strip()
    message = str(error)
    assert str(path) in message and key in message and error.fix in message
    for word in fix_words:
        assert word in error.fix


@pytest.mark.parametrize("points", ["-0.5", "nan", "-inf"])
def test_points_that_are_not_a_non_negative_number_are_rejected(tmp_path, points):
    path = write_spec(tmp_path, f'[[checks]]\nid = "udp_server.basic"\nkind = "udp_exchange"\npoints = {points}\n')

    error = spec_error(path)

    assert error.key == "checks[0].points"


@pytest.mark.parametrize("timeout", ["startup", "check", "client_budget"])
def test_a_timeout_that_is_not_positive_is_rejected(tmp_path, timeout):
    path = write_spec(tmp_path, f"[timeouts]\n{timeout} = -1.0\n\n" + UDP_CHECK)

    error = spec_error(path)

    assert error.key.startswith("timeouts")
    assert timeout in str(error)


def test_a_duplicate_id_names_the_repeated_id(tmp_path):
    error = spec_error(write_spec(tmp_path, UDP_CHECK + UDP_CHECK))

    assert "udp_server.basic" in error.problem


def test_a_syntax_error_says_which_line(tmp_path):
    error = spec_error(write_spec(tmp_path, 'port = 12000\nname = "unterminated\n' + UDP_CHECK))

    assert "line 2" in error.problem


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ("{ drop = 1.5 }", "drop"),
        ("{ drop = -0.1 }", "drop"),
        ("{ clients = 0 }", "clients"),
        ("{ messages = 5000 }", "messages"),
        ("{ reply_timeout = 0 }", "reply_timeout"),
        ("{ length = 70000 }", "length"),
        ('{ payload = "emoji" }', "payload"),
    ],
)
def test_a_param_out_of_range_raises_spec_error_naming_the_param(tmp_path, params, name):
    path = write_spec(tmp_path, UDP_CHECK + f"params = {params}\n")

    error = spec_error(path)

    assert error.file == str(path)
    assert error.key.startswith("checks[0].params")
    assert name in str(error)
    assert error.fix.strip()


@pytest.mark.parametrize(
    "transform",
    [
        "no_such_module_for_socketlab_tests:shout",
        "os:no_such_function",
        "os.path:no_such_function",
        ":upper",
        ".relative_module:upper",
    ],
)
def test_a_transform_that_cannot_be_imported_raises_spec_error(tmp_path, transform):
    path = write_spec(tmp_path, f'transform = "{transform}"\n' + UDP_CHECK)

    error = spec_error(path)

    assert error.key == "transform"
    assert transform in error.problem
    assert "importable" in error.fix


def test_a_transform_that_is_not_a_function_raises_spec_error(tmp_path):
    error = spec_error(write_spec(tmp_path, 'transform = "os:sep"\n' + UDP_CHECK))

    assert error.key == "transform"
    assert "function" in error.fix


def test_a_missing_assignment_file_raises_spec_error(tmp_path):
    path = tmp_path / "nowhere.toml"

    error = spec_error(path)

    assert error.file == str(path)
    assert "uppercase" in error.fix


def test_an_unknown_assignment_name_lists_the_shipped_ones():
    with pytest.raises(SpecError) as info:
        load_assignment("no-such-assignment")

    assert "uppercase" in info.value.fix


def test_kinds_come_from_the_kinds_argument(tmp_path):
    path = write_spec(tmp_path, UDP_CHECK)
    only_listening = {"listening": KINDS["listening"]}

    with pytest.raises(SpecError) as info:
        load_assignment(str(path), kinds=only_listening)

    assert info.value.key == "checks[0].kind"
    assert "listening" in info.value.fix


# ------------------------------------------------------------------ transforms

CUSTOM_MODULE = "socketlab_test_course_rules"


@pytest.fixture
def custom_transform_module(tmp_path, monkeypatch):
    package = tmp_path / "pythonpath"
    package.mkdir()
    (package / f"{CUSTOM_MODULE}.py").write_text(
        "def shout(data: bytes) -> bytes:\n    return data.upper() + b'!'\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.delitem(sys.modules, CUSTOM_MODULE, raising=False)
    yield CUSTOM_MODULE
    sys.modules.pop(CUSTOM_MODULE, None)


def test_a_custom_module_function_transform_is_loaded(tmp_path, custom_transform_module):
    path = write_spec(tmp_path, f'transform = "{custom_transform_module}:shout"\n' + UDP_CHECK)

    assignment = load_assignment(str(path))

    assert assignment.transform_name == f"{custom_transform_module}:shout"
    assert assignment.transform(b"abc") == b"ABC!"


def test_a_custom_transform_decides_the_expected_replies(tmp_path, custom_transform_module):
    path = write_spec(tmp_path, f'transform = "{custom_transform_module}:shout"\n' + UDP_CHECK)
    assignment = load_assignment(str(path))

    udp_plan = plan(assignment.checks[0].params, assignment.transform, assignment.seed)

    for request in udp_plan.requests:
        assert request.expected == request.payload.upper() + b"!"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello world", b"HELLO WORLD"),
        ("straße".encode(), b"STRASSE"),
        ("café élève".encode(), "CAFÉ ÉLÈVE".encode()),
        (b"", b""),
    ],
    ids=["ascii", "sharp s", "accents", "empty"],
)
def test_uppercase_upper_cases_utf8_text(data, expected):
    assert uppercase(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"caf\xe9", b"CAF\xe9"),
        (b"\xff\xfe abc", b"\xff\xfe ABC"),
        (b"x\x80y", b"X\x80Y"),
    ],
    ids=["latin-1", "byte order mark", "lone continuation byte"],
)
def test_uppercase_keeps_bytes_that_are_not_utf8(data, expected):
    assert uppercase(data) == expected
