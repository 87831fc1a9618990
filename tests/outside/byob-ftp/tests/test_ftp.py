"""byob-ftp, an outside plugin, gets every verb from its own package: parse, configuration
strings, the deployment matrix, team create, validate, gc and byob://, on a real FTP server
(pyftpdlib). Sign is refused clearly: FTP has no pre-signed URLs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from byob_core import Store, uris
from byob_core.config import from_mapping
from byob_core.errors import ConfigError
from byob_core.testing import ProviderContract

if TYPE_CHECKING:
    from conftest import FtpServer  # type: ignore[import-not-found]

PASSWORD = "ftp-s3cret-pw"  # the session server's, see conftest.py


def bucket() -> str:
    return f"bucket-{uuid.uuid4().hex[:8]}"


class TestFtpContract(ProviderContract):
    @pytest.fixture
    def store(self, ftp_server: FtpServer) -> Store:
        return uris.parse(ftp_server.uri(bucket(), "team"), environ={})


def cli(*argv: str, tmp_path: Path, config: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
    env["BYOB_DATA_DIR"] = str(tmp_path / "data")
    if config is not None:
        path = tmp_path / "byob.toml"
        path.write_text(config)
        env["BYOB_CONFIG"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "byob_core", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


class TestFromTheOutside:
    def test_parse_takes_the_ftp_scheme(self, ftp_server: FtpServer, tmp_path: Path) -> None:
        result = cli("parse", "--json", ftp_server.uri("ml", "wandb"), tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert (data["provider"], data["bucket"], data["subpath"]) == ("ftp", "ml", "wandb")
        assert data["endpoint"] == f"127.0.0.1:{ftp_server.port}"
        assert PASSWORD not in result.stdout

    def test_plugins_lists_its_scheme_and_family(self, tmp_path: Path) -> None:
        result = cli("plugins", "--check", "--json", tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        ftp = next(p for p in json.loads(result.stdout) if p["name"] == "ftp")
        assert ftp["provider_details"] == [{"name": "ftp", "schemes": ["ftp"], "family": "other"}]

    def test_the_lifecycle_on_the_command_line(self, ftp_server: FtpServer, tmp_path: Path) -> None:
        name = bucket()
        config = f'[instance]\nstore = "{ftp_server.uri(name, "wandb")}"\n'
        for argv in (("provision",), ("validate",)):
            result = cli(*argv, tmp_path=tmp_path, config=config)
            assert result.returncode == 0, result.stdout + result.stderr
            assert PASSWORD not in result.stdout + result.stderr
        (ftp_server.root / name / "wandb" / "runs").mkdir(parents=True)
        (ftp_server.root / name / "wandb" / "runs" / "dead.bin").write_bytes(b"x")
        (ftp_server.root / name / "wandb" / "runs" / "live.bin").write_bytes(b"y")
        live = tmp_path / "live.txt"
        live.write_text("runs/live.bin\n")
        result = cli(
            "gc", "--live", str(live), "--grace", "0s", "--json", tmp_path=tmp_path, config=config
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["deleted"] == 1
        assert sorted(p.name for p in (ftp_server.root / name / "wandb" / "runs").iterdir()) == [
            "live.bin"
        ]
        result = cli("sign", "runs/live.bin", tmp_path=tmp_path, config=config)
        assert result.returncode == 2
        assert "cannot sign" in result.stderr and "Traceback" not in result.stderr

    def test_team_create_with_an_ftp_store(self, ftp_server: FtpServer, tmp_path: Path) -> None:
        uri = ftp_server.uri(bucket(), "teams/omega")
        result = cli("team", "create", "omega", "--store", uri, tmp_path=tmp_path, config="")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "team omega created" in result.stdout
        assert PASSWORD not in result.stdout + result.stderr

    def test_byob_protocol_reads_and_writes(self, ftp_server: FtpServer, tmp_path: Path) -> None:
        import fsspec
        from byob_core.api import Byob

        name = bucket()
        data = {"data_dir": str(tmp_path), "teams": {"omega": {"store": ftp_server.uri(name, "o")}}}
        Byob(from_mapping(data, environ={})).provision("omega")
        fs = fsspec.filesystem("byob", config_data=data, skip_instance_cache=True)
        fs.pipe_file("byob://omega/deep/folder/a.txt", b"hello")
        assert fs.cat_file("byob://omega/deep/folder/a.txt") == b"hello"
        assert fs.ls("omega/deep/folder", detail=False) == ["omega/deep/folder/a.txt"]
        assert (ftp_server.root / name / "o" / "deep" / "folder" / "a.txt").read_bytes() == b"hello"

    @pytest.mark.parametrize(
        ("deployment", "row"), [("saas", "SaaS row"), ("dedicated", "dedicated row")]
    )
    def test_the_deployment_matrix_refuses_ftp_team_stores(
        self, ftp_server: FtpServer, deployment: str, row: str
    ) -> None:
        data = {
            "deployment": deployment,
            "teams": {"omega": {"store": ftp_server.uri("ml", "omega")}},
        }
        if deployment == "dedicated":
            data["instance"] = {"store": "s3://acme/wandb"}
        with pytest.raises(ConfigError, match=row) as caught:
            from_mapping(data, environ={})
        assert "teams.omega" in str(caught.value) and PASSWORD not in str(caught.value)

    def test_a_probe_failure_says_why_without_provisioning(
        self, ftp_server: FtpServer, tmp_path: Path
    ) -> None:
        config = f'[instance]\nstore = "{ftp_server.uri(bucket(), "wandb")}"\n'
        result = cli("validate", tmp_path=tmp_path, config=config)
        assert result.returncode == 1
        assert "does not exist" in result.stdout and "provision" in result.stdout
