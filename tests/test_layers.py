"""The house's layer order, read from the package's own imports with `ast`: no module imports from
a layer above its own, and no modules import each other in a circle. The order is the one the
README's "How it works" states: records and files at the bottom, the command line at the top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "src" / "fcdistill"
LAYERS = [
    {"records", "files", "progress", "configfile", "allocator", "kernels", "resident"},  # records, files, memory
    {"functions", "models"},  # callable functions; model names and the machine's precision
    {"tasks"},  # problems, their functions and checkers
    {"backends"},  # models that write replies
    {"agent"},  # the step loop over a backend
    {"teachers"},  # teacher runs: chains from gold solutions and models
    {"pairs"},  # chains to preference pairs
    {"training"},  # DPO on pairs
    {"evaluation"},  # scores and paired tests
    {"report"},  # the HTML report and plots
    {"pipeline"},  # every stage of `fcdistill run`
    {"cli", "__main__"},  # the command line
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every fcdistill module `path` imports, at its top or inside a function (`from package
    import submodule` counts as the submodule)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fcdistill"):
            found |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names
            }
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("fcdistill")}
    return found


def _component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    paths = list(PACKAGE.rglob("*.py"))
    modules = {_module(path) for path in paths}
    return {_module(path): _imports(path, modules) for path in paths}


def test_every_component_has_a_layer():
    components = {_component(m) for m in _graph()} - {"__init__"}
    assert components <= set(LAYER), f"components without a layer: {components - set(LAYER)}"
    assert set(LAYER) <= components | {"__main__"}, f"layers naming no component: {set(LAYER) - components}"


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for module, imports in _graph().items():
        if _component(module) == "__init__":
            continue
        for imported in imports:
            if _component(imported) != "__init__" and LAYER[_component(imported)] > LAYER[_component(module)]:
                upward.append(f"{module} -> {imported}")
    assert not upward, "imports that run upward:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    graph = _graph()
    known = set(graph)
    edges = {m: {i for i in imports if i in known and i != m} for m, imports in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(edges[module]):
            if state.get(nxt) == 1:
                circle = path[path.index(nxt) :] + [nxt] if nxt in path else [module, nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
