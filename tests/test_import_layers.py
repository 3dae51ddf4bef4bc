"""The packages' import graphs: no cycle in `conformance`, and its checker core never reaches up.

The graph is read from the source with `ast`, so it holds every import the code can run: at
module level and inside functions alike (a lazy import that only dodges a cycle still ties the
two modules together). Imports under `if TYPE_CHECKING:` are left out: they never run, so they
cannot form a cycle at run time; they only let a signature name a type. Names computed at run
time (`importlib.import_module(name)`: the registry loading its rule modules, the runner loading
a user's app) are not edges: the loaded module depends on the loader, not the reverse.

`reference_server` is scanned too and its cycles are printed (pytest -s shows them); its own
test (tests/reference_server/test_import_graph.py) asserts on them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The checker core (docs/architecture.md): the SSE parser, contracts, the stream state, rules,
# profiles and the checkers built on them. None of it may import the layers that use it.
CORE = (
    "conformance",  # the package itself: check_sse / check_events / check_response
    "conformance.sse",
    "conformance.state",
    "conformance.protocol",
    "conformance.findings",
    "conformance.excerpts",
    "conformance.tolerances",
    "conformance.contracts",
    "conformance.contracts_fast",
    "conformance.contracts_tolerances",
    "conformance.contracts_unknown",
    "conformance.cascades",
    "conformance.registry",
    "conformance.exchange",
    "conformance.profiles",
    "conformance.rules",
    "conformance.checker",
    "conformance.transcript",
)
OUTER = (
    "conformance.cli",
    "conformance.runner",
    "conformance.scenarios",
    "conformance.replay",
    "conformance.proxy",
    "conformance.upstream",
    "conformance.clients",
    "conformance.reporters",
    "conformance.pytest_plugin",
    "conformance.corpus",
    "conformance.fixture_corpus",
    "conformance.inputs",
)


def modules(package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    base = ROOT / package
    out = {}
    for path in sorted(base.rglob("*.py")):
        parts = [package, *path.relative_to(base).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes inside the body of an `if TYPE_CHECKING:` (its `else:` does run)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def _owner(name: str, known: dict[str, tuple[Path, bool]]) -> str | None:
    """The longest known module `name` is or lies in (`pkg.mod.attr` -> `pkg.mod`)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph(*packages: str) -> dict[str, set[str]]:
    """module -> the modules of `packages` it imports at run time (anywhere in its body)."""
    known: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        known.update(modules(package))
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _type_checking_only(tree)
        here = name.split(".") if is_package else name.split(".")[:-1]
        targets: list[str] = []
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join([*here[: len(here) - node.level + 1], *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
                targets.extend(f"{base}.{alias.name}" for alias in node.names)
        edges = {_owner(t, known) for t in targets}
        graph[name] = {e for e in edges if e is not None and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan, iteratively), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & set(component)))}" for m in component)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_conformance_has_no_import_cycle() -> None:
    graph = import_graph("conformance")
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(_describe(c, graph) for c in found)


def test_the_checker_core_never_imports_the_layers_that_use_it() -> None:
    graph = import_graph("conformance")
    core = [m for m in graph if m == "conformance" or _within(m, CORE[1:])]
    assert "conformance.rules.item" in core and "conformance.sse" in core
    wrong = sorted(f"{m} -> {t}" for m in core for t in graph[m] if _within(t, OUTER))
    assert not wrong, wrong


def test_the_sse_parser_and_the_vocabulary_are_leaves() -> None:
    graph = import_graph("conformance")
    for leaf in ("conformance.sse", "conformance.findings", "conformance.protocol", "conformance.excerpts",
                 "conformance.tolerances"):
        assert graph[leaf] == set(), (leaf, graph[leaf])


def test_reference_server_cycles_are_reported() -> None:
    graph = import_graph("reference_server")
    assert graph, "no reference_server module found"
    for component in cycles(graph):  # asserted by tests/reference_server/test_import_graph.py
        print("reference_server import cycle:", _describe(component, graph))


def test_the_scan_sees_lazy_imports_and_skips_type_checking() -> None:
    graph = import_graph("conformance")
    # A function-level import is an edge: check_sse imports the checker inside its body.
    assert "conformance.checker" in graph["conformance"]
    # `if TYPE_CHECKING:` imports are not: conformance/__init__ names Profile only for typing.
    assert "conformance.profiles" not in graph["conformance"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}) == [["a", "b"], ["c", "d"]]
