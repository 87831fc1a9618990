"""The core depends on no plugin: nothing under core/src imports a plugin package."""

from __future__ import annotations

import ast
from pathlib import Path

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
