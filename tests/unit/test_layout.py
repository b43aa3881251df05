"""The package's shape: modules import in one direction only, so each can be read (and tested) on its own."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "grader"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every grader module `path` imports when it runs (at the top or in a function); type-only imports aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(inner) for inner in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


@functools.cache
def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, known) - {_module_name(p)} for p in paths}


def _cycle_through(module: str, graph: dict[str, set[str]]) -> list[str] | None:
    """The shortest chain of imports from `module` back to itself, if there is one."""
    came_from: dict[str, str] = {}
    frontier = [module]
    while frontier:
        following = []
        for current in frontier:
            for imported in sorted(graph.get(current, ())):
                if imported == module:
                    chain = [current]
                    while chain[-1] != module:
                        chain.append(came_from[chain[-1]])
                    return [module, *reversed(chain[:-1]), module] if len(chain) > 1 else [module, module]
                if imported not in came_from:
                    came_from[imported] = current
                    following.append(imported)
        frontier = following
    return None


@pytest.mark.parametrize("module", sorted(_graph()))
def test_no_module_of_the_grader_imports_itself_back(module):
    cycle = _cycle_through(module, _graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert (_cycle_through("a", graph), _cycle_through("d", graph)) == (["a", "b", "c", "a"], None)
