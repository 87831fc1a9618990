"""The worked third-party plugin in docs/examples installs from its own pyproject, is
discovered through the `byob` entry-point group, and passes the conformance suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "byob-memory"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        timeout=300,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    return env


def test_discovered_through_the_entry_point(installed: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "byob_core", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=installed,
        check=True,
        timeout=60,
    )
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["memory"]["providers"] == ["memory"]
    assert plugins["memory"]["error"] is None
    assert "byob_provision" in plugins["memory"]["hooks"]


def test_passes_the_conformance_suite(installed: dict[str, str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(EXAMPLE),
            str(EXAMPLE / "tests"),
        ],
        capture_output=True,
        text=True,
        env=installed,
        timeout=300,
        check=False,
        cwd=EXAMPLE,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
