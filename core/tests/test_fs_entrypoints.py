"""``byob://`` is reachable from any process with byob-core installed: entry points, not imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import fsspec
    out = {"preloaded": "byob_core.fs" in sys.modules}
    with fsspec.open("byob://omega/a/b.bin", "wb") as f:
        f.write(b"through fsspec.open")
    fs = fsspec.filesystem("byob")
    out["class"] = type(fs).__module__ + "." + type(fs).__name__
    out["cat"] = fs.cat_file("byob://omega/a/b.bin").decode()
    fs2, path = fsspec.core.url_to_fs("byob://omega/a/b.bin")
    out["url_to_fs"] = [type(fs2).__name__, path]
    fs.pipe_file("omega/a/c.bin", b"c")
    files = fsspec.open_files("byob://omega/a/*.bin")
    out["open_files"] = [f.path for f in files]
    out["open_files_data"] = [f.open().read().decode() for f in files]
    from upath import UPath
    p = UPath("byob://omega/a")
    out["upath"] = [type(p).__name__, sorted(c.name for c in p.iterdir())]
    (p / "u.txt").write_text("via upath")
    out["upath_read"] = fs.cat_file("omega/a/u.txt").decode()
    print(json.dumps(out))
    """
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "byob.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path}/data"\n'
        f'[instance]\nstore = "file://{tmp_path}/instance?subpath=wandb"\n'
        f'[teams.omega]\nstore = "file://{tmp_path}/omega?subpath=o"\n'
    )
    return {**os.environ, "BYOB_CONFIG": str(cfg)}


class TestEntryPoints:
    def test_entry_points_are_declared_by_the_installed_distribution(self):
        specs = {ep.name: ep.value for ep in metadata.entry_points(group="fsspec.specs")}
        assert specs.get("byob") == "byob_core.fs:ByobFileSystem"
        paths = {
            ep.name: ep.value
            for ep in metadata.entry_points(group="universal_pathlib.implementations")
        }
        assert paths.get("byob") == "byob_core.fs:ByobPath"

    def test_fsspec_and_upath_find_byob_in_a_fresh_process(self, env, tmp_path):
        run = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout.strip().splitlines()[-1])
        assert out["preloaded"] is False  # found through the entry point, not imported by us
        assert out["class"] == "byob_core.fs.ByobFileSystem"
        assert out["cat"] == "through fsspec.open"
        assert out["url_to_fs"] == ["ByobFileSystem", "omega/a/b.bin"]
        assert out["open_files"] == ["omega/a/b.bin", "omega/a/c.bin"]
        assert out["open_files_data"] == ["through fsspec.open", "c"]
        assert out["upath"] == ["ByobPath", ["b.bin", "c.bin"]]
        assert out["upath_read"] == "via upath"
        assert (tmp_path / "omega" / "o" / "a" / "b.bin").read_bytes() == b"through fsspec.open"

    def test_importing_the_filesystem_imports_no_cloud_sdk_nor_upath(self, env):
        code = (
            "import sys, json, byob_core.fs\n"
            "heavy = ('s3fs', 'gcsfs', 'adlfs', 'boto3', 'botocore', 'aiobotocore', 'upath',"
            " 'google.cloud', 'azure.storage')\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)))\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == []
