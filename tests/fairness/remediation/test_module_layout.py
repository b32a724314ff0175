"""The layout of the remediation package: old import paths, no import cycles, apps on public names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

pytest.importorskip("torch")

SRC = Path(__file__).resolve().parents[3] / "src"

#: Every public name ``assay.fairness.remediation.losses`` defined before it was split.
LOSSES_PUBLIC = [
    "ADJUSTED_MMD_EPSILON",
    "CORRELATION_EPSILON",
    "DEFAULT_KERNEL_LENGTH",
    "DEFAULT_MAX_KERNEL_ELEMENTS",
    "MINDIFF_LOSSES",
    "AbsoluteCorrelationLoss",
    "AdjustedMMDLoss",
    "EmptyGroup",
    "KernelFn",
    "MMDLoss",
    "MinDiffLossFn",
    "PredictionsTransform",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "gaussian_kernel",
    "get_mindiff_loss",
    "laplacian_kernel",
    "mmd_loss",
]


def test_the_old_import_path_of_the_losses_still_works():
    losses = importlib.import_module("assay.fairness.remediation.losses")
    functional = importlib.import_module("assay.fairness.remediation.functional")
    remediation = importlib.import_module("assay.fairness.remediation")
    for name in LOSSES_PUBLIC:
        assert hasattr(losses, name), name
    for name in functional.__all__:
        assert getattr(losses, name) is getattr(functional, name), name
    for name in losses.__all__:
        if hasattr(remediation, name):
            assert getattr(remediation, name) is getattr(losses, name), name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of ``modules`` that ``path`` imports anywhere (functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod, *(f"{mod}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _graph(*packages: str) -> dict[str, set[str]]:
    files = [p for pkg in packages for p in (SRC / pkg.replace(".", "/")).rglob("*.py")]
    modules = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, modules) for p in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_import_cycles_in_remediation_and_apps():
    graph = _graph("assay.fairness", "assay.apps")
    assert "assay.fairness.remediation.functional" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


#: Forwarding modules kept at the old paths of the scripts (they import the apps lazily).
COMPAT = {"assay.fairness.remediation.experiment"}


def test_the_library_does_not_import_the_apps():
    graph = _graph("assay.fairness", "assay.apps")
    for module, targets in graph.items():
        if not module.startswith("assay.apps") and module not in COMPAT:
            assert not any(t.startswith("assay.apps") for t in targets), module


def test_the_apps_use_only_public_names_of_other_packages():
    for path in (SRC / "assay" / "apps").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mod, names = node.module, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                mod, names = "", [a.name for a in node.names]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                mod, names = node.value.id, [node.attr]
            else:
                continue
            dotted = [*mod.split("."), *(n for name in names for n in name.split("."))]
            if dotted[0] != "assay" or dotted[1:2] == ["apps"]:
                continue
            private = [part for part in dotted if part.startswith("_")]
            assert not private, f"{path.name}:{node.lineno} uses {'.'.join(dotted)}"


def test_old_script_paths_forward_to_the_apps():
    import subprocess
    import sys

    import pytest

    from assay.apps import mindiff_experiment

    with pytest.warns(DeprecationWarning, match="moved to assay.apps.mindiff_experiment"):
        from assay.fairness.remediation import experiment

        assert experiment.run_experiment is mindiff_experiment.run_experiment
    with pytest.warns(DeprecationWarning, match="assay.demo moved to assay.apps.demo"):
        from assay.demo import run_demo  # noqa: F401
    out = subprocess.run([sys.executable, "-m", "assay.fairness.remediation.experiment", "--help"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "--dataset" in out.stdout
