"""Layering: the core imports no plugin, and no runtime module imports a test helper."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {p.name.replace("-", "_") for p in (ROOT / "plugins").iterdir() if p.is_dir()}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_imports_no_plugin() -> None:
    assert {"byob_aws", "byob_gcp", "byob_azure", "byob_minio"} <= PLUGINS
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & PLUGINS)
        for path in (ROOT / "core" / "src").rglob("*.py")
        if _imports(path) & PLUGINS
    }
    assert offenders == {}


# -- test helpers stay out of the runtime ---------------------------------------------------

PACKAGE_ROOTS = sorted(
    src
    for pattern in (
        "core/src/byob_*",
        "plugins/*/src/byob_*",
        "docs/examples/*/src/byob_*",
        "tests/outside/*/src/byob_*",
    )
    for src in ROOT.glob(pattern)
    if (src / "__init__.py").is_file()
)


def _module_name(path: Path, package_root: Path) -> str:
    parts = [package_root.name, *path.relative_to(package_root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute_imports(
    path: Path, module: str, *, module_level_only: bool = False, runtime_only: bool = False
) -> set[str]:
    """Every module `path` imports, at module level or inside functions (only the former
    with `module_level_only`), made absolute (``from pkg import name`` counts as
    ``pkg.name`` too, since `name` may be a module). With `runtime_only`, imports under
    ``if TYPE_CHECKING:`` (annotations only, never run) are left out."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
    for node in tree.body if module_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def _pytest_entry_points() -> set[str]:
    modules: set[str] = set()
    for pyproject in ROOT.glob("**/pyproject.toml"):
        if ".venv" in pyproject.parts or "node_modules" in pyproject.parts:
            continue
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        points = data.get("project", {}).get("entry-points", {}).get("pytest11", {})
        modules.update(value.split(":")[0] for value in points.values())
    return modules


def _is_testing(module: str) -> bool:
    return module.startswith("byob_") and module.split(".")[-1] == "testing"


def test_no_runtime_module_imports_a_testing_module() -> None:
    """``byob_*.testing`` modules (servers, shims, conformance suites) are for tests: no
    other module of any package imports one, except a pytest plugin declared in pyproject."""
    assert "byob_core.testing" in _pytest_entry_points()
    assert len(PACKAGE_ROOTS) >= 5
    allowed = _pytest_entry_points()
    offenders: dict[str, list[str]] = {}
    for root in PACKAGE_ROOTS:
        for path in root.rglob("*.py"):
            module = _module_name(path, root)
            if _is_testing(module) or module in allowed:
                continue
            bad = sorted(name for name in _absolute_imports(path, module) if _is_testing(name))
            if bad:
                offenders[module] = bad
    assert offenders == {}


def test_the_import_scanner_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "byob_x"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "demo.py").write_text(
        "def f():\n    from byob_aws import testing\n    from . import testing as t\n"
    )
    found = _absolute_imports(package / "demo.py", "byob_x.demo")
    assert {"byob_aws.testing", "byob_x.testing"} <= found


# -- each package is a one-way stack -----------------------------------------------------------


def _import_graph(root: Path, *, module_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(path, root): path for path in root.rglob("*.py")}
    return {
        name: {
            dep
            for dep in _absolute_imports(
                path, name, module_level_only=module_level_only, runtime_only=True
            )
            if dep in modules and dep not in (name, root.name)
        }
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


PLUGIN_ROOTS = [root for root in PACKAGE_ROOTS if root.name != "byob_core"]


@pytest.mark.parametrize("root", PLUGIN_ROOTS, ids=lambda root: root.name)
def test_a_plugin_has_no_import_cycle(root: Path) -> None:
    """Module-level and function-level imports both count (a lazy import inside a function
    still ties the two modules together); imports under ``if TYPE_CHECKING:`` do not."""
    assert _cycles(_import_graph(root, module_level_only=False)) == []


def test_the_core_has_no_module_level_import_cycle() -> None:
    """The core: module-level imports only. Its function-level cycles (api/fs, plugins/uris,
    admin/cli) sit in the big modules issue 17 splits later."""
    core = ROOT / "core" / "src" / "byob_core"
    assert _cycles(_import_graph(core, module_level_only=True)) == []


def test_the_cycle_finder_finds_a_lazy_cycle(tmp_path: Path) -> None:
    package = tmp_path / "byob_x"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from byob_x import b\n")
    (package / "b.py").write_text("def f():\n    from byob_x.a import thing\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from byob_x import a\n"
    )
    graph = _import_graph(package, module_level_only=False)
    assert _cycles(graph) == [["byob_x.a", "byob_x.b"]]
    assert _cycles(_import_graph(package, module_level_only=True)) == []
    assert graph["byob_x.c"] == set()
