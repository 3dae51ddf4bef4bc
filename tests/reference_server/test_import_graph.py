"""The reference server's import graph has no cycle, counting imports inside functions too (a
lazy import that only dodges a cycle still ties the two modules together), and its subpackages
are layers: each imports only from its own layer and the ones below it."""

from __future__ import annotations

import ast
from pathlib import Path

import reference_server

ROOT = Path(reference_server.__file__).parent
PACKAGE = "reference_server"
# Bottom to top. Modules outside these (the package itself, __main__, proxy_cli, testing/) sit on
# top: they wire the layers together.
LAYERS = ("search", "protocol", "core", "sources", "web")


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    return {id(node) for stmt in ast.walk(tree)
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)
            for node in ast.walk(stmt)}


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (run-time imports only: `if TYPE_CHECKING:`
    blocks are left out; `from pkg import submodule` counts as importing the submodule)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        package = name if is_package else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                subs = [f"{target}.{alias.name}" for alias in node.names]
                found = [s for s in subs if s in modules]
                edges.update(found)
                if len(found) < len(subs):
                    edges.add(target)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if root in state:
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def test_layers_import_only_downwards() -> None:
    graph = import_graph()
    upward = sorted(f"{m} -> {dep}" for m, deps in graph.items() for dep in deps if layer_of(dep) > layer_of(m))
    assert not upward, upward


def test_every_module_is_in_a_layer_or_wires_them() -> None:
    top = {m for m in import_graph() if layer_of(m) == len(LAYERS)}
    assert top == {PACKAGE, f"{PACKAGE}.__main__", f"{PACKAGE}.proxy_cli"} | {
        m for m in top if m.startswith(f"{PACKAGE}.testing")}


def test_the_scan_sees_cycles_and_lazy_imports() -> None:
    graph = import_graph()
    # a function-level import is an edge (create_app is imported lazily by the package)
    assert any(m.endswith(".app") for m in graph[PACKAGE])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # the web layer builds on the service (an edge the layer test would flag the other way round)
    assert f"{PACKAGE}.core.service" in graph[f"{PACKAGE}.web.app"]
    assert layer_of(f"{PACKAGE}.web.app") > layer_of(f"{PACKAGE}.core.service") > layer_of(f"{PACKAGE}.protocol.events")
