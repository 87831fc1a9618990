"""Write docs/cli.md from the CLI's own parser: `python docs/gen_cli_reference.py`.

tests/test_docs.py fails when the page is stale, so the reference cannot drift.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from byob_core.cli import build_parser

HEADER = """# CLI reference

`python -m byob_core` (also installed as `byob`). Generated from the parser by
`docs/gen_cli_reference.py`; do not edit by hand.

Exit codes: 0 success, 1 a check failed, 2 bad input or configuration (a one-line
message naming the problem, no traceback). `--json` prints JSON for scripts.
"""


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((name, sub))
    return found


def render() -> str:
    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    parts = [HEADER, "```text", parser.format_help().rstrip(), "```", ""]

    def walk(prefix: str, p: argparse.ArgumentParser) -> None:
        for name, sub in _subparsers(p):
            full = f"{prefix} {name}".strip()
            children = _subparsers(sub)
            parts.extend([f"## `{full}`", "", "```text", sub.format_help().rstrip(), "```", ""])
            if children:
                walk(full, sub)

    walk("", parser)
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).with_name("cli.md")
    target.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
