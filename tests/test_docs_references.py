"""Docs references are self-contained: nothing cites the SPEC (it is not in the repository),
and every ``docs/<page>.md#anchor`` named in code, READMEs or docs links points at an
existing page and heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP_DIRS = {".venv", "node_modules", ".git", "site", "__pycache__", ".nox"}


def _files() -> list[Path]:
    found = [ROOT / "README.md"]
    for top in ("core", "plugins", "docs", "tests", "benchmarks"):
        for path in (ROOT / top).rglob("*"):
            if path.suffix in {".py", ".md", ".toml"} and not SKIP_DIRS & set(path.parts):
                found.append(path)
    return [p for p in found if p.is_file()]


def _slug(heading: str) -> str:
    """The anchor mkdocs' toc extension gives a heading (its default slugify)."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text).strip("-")


def _anchors(page: Path) -> set[str]:
    anchors, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6}\s+(.*)", line)):
            anchors.add(_slug(m.group(1)))
    return anchors


def _references() -> list[tuple[str, Path, str]]:
    """(where, page, anchor) for each docs reference: ``docs/<page>.md#<anchor>`` anywhere, and
    relative Markdown links ``](<page>.md#<anchor>)`` inside docs/."""
    found = []
    for path in _files():
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        for m in re.finditer(r"(?<![\w./-])docs/([\w/.-]+?\.md)(?:#([\w-]+))?", text):
            if "<" not in m.group(1):
                found.append((where, DOCS / m.group(1), m.group(2) or ""))
        if path.is_relative_to(DOCS) and path.suffix == ".md":
            for m in re.finditer(r"\]\(([\w/.-]+\.md)(?:#([\w-]+))?\)", text):
                found.append((where, (path.parent / m.group(1)).resolve(), m.group(2) or ""))
    return found


def test_nothing_cites_the_spec() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"SPEC\s*§|§\s*\d", line)
    ]
    assert offenders == []


def test_there_are_references() -> None:
    refs = _references()
    assert any(where.startswith("core/") for where, _, _ in refs)
    assert any(anchor for _, _, anchor in refs)


@pytest.mark.parametrize(("where", "page", "anchor"), _references())
def test_reference_points_at_a_page_and_heading(where: str, page: Path, anchor: str) -> None:
    assert page.is_file(), f"{where} names {page}, which does not exist"
    if anchor:
        assert anchor in _anchors(page), f"{where}: no heading #{anchor} in {page.name}"


def test_slug_follows_mkdocs() -> None:
    assert _slug("The `byob://` protocol") == "the-byob-protocol"
    assert _slug("Sub-paths and the escape guard") == "sub-paths-and-the-escape-guard"
    assert _slug("`byob_provision(store, context)`") == "byob_provisionstore-context"
