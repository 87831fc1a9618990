"""Cheap start-up, checked by what gets imported (never by time): the CLI's light commands
load no plugin, and discovering every installed plugin imports no cloud SDK. The timing
figures come from ``benchmarks/bench_startup.py``, which a test here runs once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUD_SDKS = {"s3fs", "gcsfs", "adlfs", "boto3", "botocore", "aiobotocore", "azure", "google"}


def fresh_python(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
    env["BYOB_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def top_level_modules(code: str, tmp_path: Path) -> set[str]:
    """Top-level names in sys.modules after running `code` in a fresh interpreter."""
    probe = (
        code
        + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = fresh_python("-c", probe, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


class TestImports:
    def test_importing_the_core_imports_no_cloud_sdk(self, tmp_path: Path) -> None:
        modules = top_level_modules("import byob_core", tmp_path)
        assert "byob_core" in modules
        assert not modules & CLOUD_SDKS

    def test_byob_is_exported_but_imported_only_on_first_use(self, tmp_path: Path) -> None:
        modules = top_level_modules(
            "import byob_core, sys; assert 'byob_core.api' not in sys.modules", tmp_path
        )
        assert not modules & CLOUD_SDKS
        code = "from byob_core import Byob, Transfer; from byob_core.api import Byob as B; assert Byob is B"
        assert not top_level_modules(code, tmp_path) & CLOUD_SDKS

    def test_discovering_every_installed_plugin_imports_no_cloud_sdk(self, tmp_path: Path) -> None:
        code = (
            "from byob_core.plugins import PluginHost\n"
            "host = PluginHost.load()\n"
            "assert all(i.error is None for i in host.infos()), [i.to_dict() for i in host.infos() if i.error]\n"
        )
        modules = top_level_modules(code, tmp_path)
        assert not modules & CLOUD_SDKS, sorted(modules & CLOUD_SDKS)

    @pytest.mark.parametrize(
        "argv",
        [("--help",), ("parse", "s3://acme/wandb"), ("resolve", "runs/a.bin"), ("--version",)],
    )
    def test_light_commands_load_no_plugin(self, argv: tuple[str, ...], tmp_path: Path) -> None:
        result = fresh_python("-X", "importtime", "-m", "byob_core", *argv, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        names = {
            line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
        }
        assert "byob_core" in names
        plugins = {n for n in names if n.startswith("byob_") and n != "byob_core"}
        assert not plugins, sorted(plugins)
        assert not names & CLOUD_SDKS
        assert "fsspec" not in names


class TestBenchmark:
    def test_the_startup_benchmark_runs_and_reports_every_command(self, tmp_path: Path) -> None:
        result = fresh_python(
            str(ROOT / "benchmarks" / "bench_startup.py"), "--runs", "1", tmp_path=tmp_path
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        help_line = next(line for line in lines if line.startswith("python -m byob_core --help"))
        assert help_line.rstrip().endswith("none")  # no cloud SDK seen under -X importtime
        assert any("x the reference" in line for line in lines)
