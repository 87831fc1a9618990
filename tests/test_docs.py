"""The documentation keeps up with the code: every hook and hook argument is in the hook reference."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from byob_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    (name, fn) for name, fn in vars(hookspecs).items() if name.startswith("byob_") and callable(fn)
)


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 5


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
class TestHookReference:
    def test_hook_is_documented(self, name: str, fn: object) -> None:
        text = (ROOT / "docs" / "hooks.md").read_text()
        assert f"## `{name}(" in text, f"{name} is missing from docs/hooks.md"

    def test_every_argument_is_documented(self, name: str, fn: object) -> None:
        text = (ROOT / "docs" / "hooks.md").read_text()
        section = text.split(f"## `{name}(", 1)[1].split("\n## ", 1)[0]
        for arg in inspect.signature(fn).parameters:  # type: ignore[arg-type]
            assert f"`{arg}`" in section, (
                f"argument {arg!r} of {name} is missing from docs/hooks.md"
            )

    def test_hookspec_has_docstring(self, name: str, fn: object) -> None:
        assert inspect.getdoc(fn), f"{name} has no docstring"


def test_cli_reference_is_generated_from_the_parser() -> None:
    import runpy

    module = runpy.run_path(str(ROOT / "docs" / "gen_cli_reference.py"))
    expected = module["render"]()
    assert (ROOT / "docs" / "cli.md").read_text() == expected, (
        "docs/cli.md is stale: run `python docs/gen_cli_reference.py`"
    )
