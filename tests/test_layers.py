"""The package's layers (``../shared/ARCHITECTURE.md``): entry points → report, monitor, mitigation,
explain → metrics → frames. Read from the source, every import counted (at module level or inside a
function, which would only hide a cycle until it runs), except those under ``if TYPE_CHECKING:``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
#: The lower layers and what they may never import.
LOWER = ("fairwatch.metrics", "fairwatch.frames")
UPPER = (
    "fairwatch.monitor",
    "fairwatch.mitigation",
    "fairwatch.report",
    "fairwatch.server",
    "fairwatch.cli",
    "fairwatch.stream",
    "fairwatch.explain",
    "fairwatch.probes",
    "fairwatch.integrations",
    "fairwatch.client",
    "fairwatch._audit",
    "fairwatch._audit_model",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "fairwatch").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _target(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    out = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("fairwatch"):
            base = str(node.module)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("fairwatch")]
        out |= {t for t in (_target(n, modules) for n in names) if t is not None}
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_metrics_and_frames_import_no_upper_layer() -> None:
    graph = _graph()
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        if _within(module, LOWER)
        for target in targets
        if _within(target, UPPER)
    )
    assert wrong == []


def test_frames_import_no_metrics() -> None:
    """The frames are the lowest layer: the metrics (in-engine aggregation included) build on them."""
    graph = _graph()
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        if _within(module, ("fairwatch.frames",))
        for target in targets
        if _within(target, ("fairwatch.metrics", *UPPER))
    )
    assert wrong == []


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = _graph()
    assert "fairwatch.cli._demo" in graph["fairwatch.cli._app"]  # imported inside demo_command
    assert "fairwatch.monitor._duckdb" in graph["fairwatch.monitor._open"]
