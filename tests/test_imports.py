"""The package's import graph: no import circle in pipelines/ (counting imports inside functions,
which hide a circle rather than remove it), every module imports on its own in a fresh interpreter,
and no production module imports the demo generator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path) -> set[str]:
    """Every module of any package that `path` imports, anywhere in the file."""
    names = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def import_graph() -> dict[str, set[str]]:
    return {name: {m for m in imported_modules(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_pipelines_has_no_import_circle() -> None:
    graph = import_graph()
    assert len(graph) > 40  # the walk really saw the package
    assert "pipelines.ingest.loader" in graph["pipelines.cli"]  # imports inside functions count
    assert cycles(graph) == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles(graph))


def test_production_never_imports_the_demo_generator() -> None:
    offenders = {name for name, path in MODULES.items()
                 if any(m == "demo" or m.startswith("demo.") for m in imported_modules(path))}
    assert offenders == set()
    assert not (PACKAGE / "demo").exists()


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """Every module imports in a new interpreter started outside the repository (so the top-level
    demo package is not on the path): none needs the demo or fails half-way through an import."""
    code = """import importlib, sys, traceback
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc().strip().splitlines()[-1]
print(failed)
sys.exit(1 if failed else 0)"""
    names = [n for n in MODULES if not n.endswith("__main__")]
    run = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, cwd="/", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
