"""Assignment specs: TOML files that pick and parameterise the built-in scenario kinds.

Every mistake in a spec is reported as a SpecError naming the file, the key and the fix,
because the person reading it is an instructor editing TOML, not a Python programmer.
"""

from __future__ import annotations

import dataclasses
import importlib
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import PACKAGE_DIR
from grader.model import CheckSpec, Role
from grader.scenarios import KINDS
from grader.scenarios.common import Transform
from grader.scenarios.kind import Kind
from grader.scripted_server import uppercase

ASSIGNMENTS_DIR = PACKAGE_DIR / "assignments"


class SpecError(Exception):
    def __init__(self, file: Path | str, key: str, problem: str, fix: str):
        self.file, self.key, self.problem, self.fix = str(file), key, problem, fix
        super().__init__(f"{file}: {key}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class Timeouts:
    startup: float = 5.0  # until a server has bound its socket
    check: float = 60.0  # one whole check, whatever it does
    client_budget: float = 6.0  # a client must have exited by then
    submission: float = 300.0  # all checks of one submission; the checks not reached fail, the rest count

    def __post_init__(self) -> None:
        for name in ("startup", "check", "client_budget"):
            if not 0 < getattr(self, name) <= 600:
                raise ValueError(f"{name} must be more than 0 and at most 600 seconds")
        if not 0 < self.submission <= 3600:
            raise ValueError("submission must be more than 0 and at most 3600 seconds")


@dataclass(frozen=True)
class Assignment:
    name: str
    source: Path
    port: int
    transform_name: str
    transform: Transform
    seed: int
    timeouts: Timeouts
    checks: tuple[CheckSpec, ...]
    description: str = ""

    def checks_for(self, role: Role) -> tuple[CheckSpec, ...]:
        return tuple(c for c in self.checks if c.role is role)

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.checks)


BUILTIN_TRANSFORMS: dict[str, Transform] = {"uppercase": uppercase}


def available_assignments() -> list[str]:
    return sorted(p.stem for p in ASSIGNMENTS_DIR.glob("*.toml"))


def resolve_assignment(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise SpecError(
                candidate,
                "(file)",
                "no such assignment file",
                f"check the path, or use one of: {', '.join(available_assignments())}",
            )
        return candidate
    path = ASSIGNMENTS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise SpecError(
            path,
            "(file)",
            f"unknown assignment {name_or_path!r}",
            f"use one of: {', '.join(available_assignments())}, or a path to a .toml file",
        )
    return path


def load_assignment(name_or_path: str, kinds: Mapping[str, Kind] = KINDS) -> Assignment:
    path = resolve_assignment(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(path, "(syntax)", f"not valid TOML ({exc})", "fix the TOML syntax at that line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, "(file)", f"cannot read it ({exc})", "make it a readable UTF-8 file") from None
    if "extends" in data:
        data = _extend(path, data)
    return _parse_assignment(path, data, kinds)


def _extend(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """`extends = "base"`: the base's keys and checks, then this file's keys, overrides and extra checks.

    `[overrides."<check id>"]` changes points, required or description of a base check, so a
    stricter assignment states only what it makes stricter.
    """
    base_name = _get(path, data, "extends", str)
    base_path = resolve_assignment(base_name) if "/" in base_name else path.parent / f"{base_name}.toml"
    if not base_path.is_file() or base_path.resolve() == path.resolve():
        raise SpecError(
            path,
            "extends",
            f"cannot extend {base_name!r}",
            'name another assignment in the same folder, e.g. extends = "uppercase"',
        )
    try:
        base = tomllib.loads(base_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(base_path, "(syntax)", f"not valid TOML ({exc})", "fix the TOML syntax at that line") from None
    if "extends" in base:
        raise SpecError(
            path,
            "extends",
            f"{base_name!r} extends another assignment itself",
            "extend an assignment that does not use extends",
        )
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise SpecError(path, "overrides", "must be a table", 'write [overrides."udp_server.basic"] tables')
    checks = [dict(c) for c in base.get("checks", [])]
    by_id = {c.get("id"): c for c in checks}
    for check_id, changes in overrides.items():
        if check_id not in by_id:
            raise SpecError(
                path,
                f"overrides.{check_id}",
                f"no check {check_id!r} in {base_name}",
                "override only checks the base assignment declares",
            )
        if not isinstance(changes, dict):
            raise SpecError(path, f"overrides.{check_id}", "must be a table", "write points = ..., required = ...")
        _reject_unknown(path, f"overrides.{check_id}", changes, {"points", "required", "description"})
        by_id[check_id].update(changes)
    merged = {k: v for k, v in base.items() if k != "checks"}
    merged.update({k: v for k, v in data.items() if k not in ("extends", "overrides", "checks")})
    merged["checks"] = checks + list(data.get("checks", []))
    return merged


_TOP_KEYS = {"name", "description", "port", "transform", "seed", "timeouts", "checks"}
_CHECK_KEYS = {"id", "kind", "points", "required", "description", "params"}


def _parse_assignment(path: Path, data: dict[str, Any], kinds: Mapping[str, Kind]) -> Assignment:
    _reject_unknown(path, "", data, _TOP_KEYS)
    name = _get(path, data, "name", str, default=path.stem)
    port = _get(path, data, "port", int, default=12000)
    if not 1 <= port <= 65535:
        raise SpecError(path, "port", f"{port} is not a port number", "use a number from 1 to 65535, e.g. 12000")
    transform_name = _get(path, data, "transform", str, default="uppercase")
    transform = _load_transform(path, transform_name)
    seed = _get(path, data, "seed", int, default=2026)
    timeouts = _parse_params(path, "timeouts", data.get("timeouts", {}), Timeouts)

    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise SpecError(
            path, "checks", "no checks declared", "add at least one [[checks]] table with id, kind and points"
        )
    checks: list[CheckSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_checks):
        check = _parse_check(path, f"checks[{i}]", raw, kinds)
        if check.id in seen:
            raise SpecError(path, f"checks[{i}].id", f"duplicate check id {check.id!r}", "give every check its own id")
        seen.add(check.id)
        checks.append(check)
    return Assignment(
        name=name,
        source=path,
        port=port,
        transform_name=transform_name,
        transform=transform,
        seed=seed,
        timeouts=timeouts,
        checks=tuple(checks),
        description=_get(path, data, "description", str, default=""),
    )


def _parse_check(path: Path, where: str, raw: Any, kinds: Mapping[str, Kind]) -> CheckSpec:
    if not isinstance(raw, dict):
        raise SpecError(path, where, "a check must be a table", "write it as [[checks]] with key = value lines")
    _reject_unknown(path, where, raw, _CHECK_KEYS)
    check_id = _get(path, raw, "id", str, where=where)
    role_name, _, short = check_id.partition(".")
    roles = {r.value: r for r in Role}
    if role_name not in roles or not short:
        raise SpecError(
            path,
            f"{where}.id",
            f"{check_id!r} does not read <role>.<check>",
            f"start it with one of {', '.join(roles)} and a dot, e.g. udp_server.basic",
        )
    role = roles[role_name]
    kind_name = _get(path, raw, "kind", str, where=where)
    kind = kinds.get(kind_name)
    if kind is None:
        raise SpecError(
            path, f"{where}.kind", f"unknown scenario kind {kind_name!r}", f"use one of: {', '.join(sorted(kinds))}"
        )
    if role not in kind.roles:
        raise SpecError(
            path,
            f"{where}.kind",
            f"kind {kind_name!r} does not grade a {role.value}",
            f"use it with {', '.join(sorted(r.value for r in kind.roles))}, or pick another kind",
        )
    points = _get(path, raw, "points", (int, float), where=where)
    if not 0 <= points < float("inf"):
        raise SpecError(
            path, f"{where}.points", f"{points} is not a number of points", "use a finite number, 0 or more"
        )
    params = _parse_params(path, f"{where}.params", raw.get("params", {}), kind.params)
    problem = kind.misfit(role, params) if kind.misfit is not None else None
    if problem is not None:
        raise SpecError(path, f"{where}.params", problem[0], problem[1])
    return CheckSpec(
        id=check_id,
        role=role,
        kind=kind_name,
        points=float(points),
        required=_get(path, raw, "required", bool, where=where, default=True),
        description=_get(path, raw, "description", str, where=where, default=""),
        params=params,
    )


def _parse_params(path: Path, where: str, raw: Any, cls: type) -> Any:
    if not isinstance(raw, dict):
        raise SpecError(path, where, "must be a table", f"write it as [{where}] with key = value lines")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(path, where, raw, set(fields))
    hints = typing.get_type_hints(cls)
    for key, value in raw.items():
        expected = _runtime_types(hints[key])
        if isinstance(value, bool) and bool not in expected:
            expected_ok = False
        else:
            expected_ok = isinstance(value, expected)
        if not expected_ok:
            names = " or ".join(t.__name__ for t in expected)
            raise SpecError(
                path,
                f"{where}.{key}",
                f"expected {names}, got {type(value).__name__} {value!r}",
                f"write a {names} value",
            )
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    try:
        return cls(**converted)
    except ValueError as exc:
        raise SpecError(path, where, str(exc), "use a value in the allowed range") from None


def _runtime_types(hint: Any) -> tuple[type, ...]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _runtime_types(arg))
    if origin is not None:
        return (list,) if origin is tuple else (origin,)
    if hint is float:
        return (int, float)
    if hint is type(None):
        return ()
    return (hint,)


def _get(
    path: Path, table: dict, key: str, types_: type | tuple[type, ...], *, where: str = "", default: Any = ...
) -> Any:
    full = f"{where}.{key}" if where else key
    if key not in table:
        if default is ...:
            raise SpecError(path, full, "missing", f"add `{key} = ...` to that table")
        return default
    value = table[key]
    wanted = types_ if isinstance(types_, tuple) else (types_,)
    if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
        names = " or ".join(t.__name__ for t in wanted)
        raise SpecError(path, full, f"expected {names}, got {type(value).__name__} {value!r}", f"write a {names}")
    return value


def _reject_unknown(path: Path, where: str, table: dict, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            close = _closest(key, allowed)
            fix = f"did you mean {close!r}?" if close else f"allowed keys: {', '.join(sorted(allowed))}"
            raise SpecError(path, f"{where}.{key}" if where else key, "unknown key", fix)


def _closest(word: str, candidates: set[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.7)
    return matches[0] if matches else None


def _load_transform(path: Path, name: str) -> Transform:
    """A built-in name, or `module:function` for a course's own rule (bytes in, bytes out)."""
    if name in BUILTIN_TRANSFORMS:
        return BUILTIN_TRANSFORMS[name]
    module_name, _, func_name = name.partition(":")
    if not func_name:
        raise SpecError(
            path,
            "transform",
            f"unknown transform {name!r}",
            f"use one of {', '.join(BUILTIN_TRANSFORMS)} or 'package.module:function'",
        )
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise SpecError(
            path,
            "transform",
            f"cannot load {name!r} ({exc})",
            "make the module importable (on PYTHONPATH) and the function exist",
        ) from None
    if not callable(func):
        raise SpecError(path, "transform", f"{name!r} is not a function", "name a function taking and returning bytes")
    return func
