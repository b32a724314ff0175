"""The structure of the package, checked from its source (see docs/architecture.md).

* No import cycles between modules of ``src/assay``, counting imports inside functions
  and under ``TYPE_CHECKING``.
* No private name (``_x``) or private module used across subpackages, except the shared
  internal packages ``assay._util``, ``assay._native`` and ``assay._version``.
* The core (shared machinery) imports no capability; the result does not import the report.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
SHARED_PRIVATE = ("assay._util", "assay._native", "assay._version")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (SRC / "assay").rglob("*.py")}


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if _is_package(path) else name.rsplit(".", 1)[0]
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("assay"):
                    out.append((a.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("assay"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub in modules:
                    out.append((sub, None, node.lineno))
                else:
                    out.append((mod, a.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for mod, _sym, _line in _imports(name, path, modules):
            if mod in modules and mod != name:
                graph[name].add(mod)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_cycles() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(g) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_private_names_across_subpackages() -> None:
    modules = _modules()
    bad = []
    for name, path in modules.items():
        for mod, sym, line in _imports(name, path, modules):
            if _subpackage(mod) == _subpackage(name) or mod.startswith(SHARED_PRIVATE):
                continue
            private_module = any(p.startswith("_") and p != "__init__" for p in mod.split(".")[1:])
            if private_module or (sym is not None and sym.startswith("_")):
                bad.append(f"{path.relative_to(SRC)}:{line} imports {mod}{'.' + sym if sym else ''}")
    assert bad == [], "private names used across subpackages:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("assay.core", ("assay.evaluation", "assay.report", "assay.engines", "assay.fairness",
                        "assay.apps", "assay.cli")),
        ("assay.core.result", ("assay.report",)),
        ("assay.evaluation", ("assay.report", "assay.apps", "assay.cli")),
        ("assay.report", ("assay.evaluation", "assay.engines", "assay.apps")),
    ],
)  # fmt: skip
def test_layering(module: str, forbidden: tuple[str, ...]) -> None:
    graph = _graph()
    bad = []
    for src, targets in graph.items():
        if src != module and not src.startswith(module + "."):
            continue
        for t in targets:
            if any(t == f or t.startswith(f + ".") for f in forbidden):
                bad.append(f"{src} -> {t}")
    assert bad == [], f"{module} must not import {forbidden}: " + ", ".join(sorted(bad))


def test_test_file_names_are_unique() -> None:
    """Test directories have no ``__init__.py``: two test files of one name break collection."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
