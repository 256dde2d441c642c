"""The layers of docs/architecture.md hold: each imports only what the map allows, and the
engine and storage packages have no import cycles."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("config", "storage", "engine", "commands", "web", "bot")
# What each layer may import from the project (besides itself).
ALLOWED = {
    "config": set(),
    "storage": {"config"},
    "engine": {"storage", "config"},
    "commands": {"engine", "config"},
    "web": {"engine", "config"},
    "bot": {"commands", "web", "engine", "storage", "config"},
}


def _modules(layer: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / layer).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts run on their own, against the tables
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(path: Path) -> set[str]:
    """Project modules imported when the module loads (not those under TYPE_CHECKING,
    which exist for type hints only)."""
    tree = ast.parse(path.read_text("utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in LAYERS}


def _graph(layer: str) -> dict[str, set[str]]:
    modules = dict(_modules(layer))
    return {name: {m for m in _imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_each_layer_imports_only_what_it_may() -> None:
    wrong = []
    for layer in LAYERS:
        for name, path in _modules(layer):
            for imported in _imports(path):
                top = imported.split(".")[0]
                if top != layer and top not in ALLOWED[layer]:
                    wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_engine_and_storage_have_no_import_cycles() -> None:
    for layer in ("engine", "storage"):
        graph = _graph(layer)
        state: dict[str, int] = {}
        cycles: list[list[str]] = []

        def visit(node: str, path: list[str], graph: dict[str, set[str]] = graph,
                  state: dict[str, int] = state, cycles: list[list[str]] = cycles) -> None:
            state[node] = 1
            for nxt in sorted(graph[node]):
                if state.get(nxt) == 1:
                    cycles.append([*path[path.index(nxt):], nxt])
                elif nxt not in state:
                    visit(nxt, [*path, nxt])
            state[node] = 2

        for module in sorted(graph):
            if module not in state:
                visit(module, [module])
        assert cycles == [], f"{layer}: {cycles}"
