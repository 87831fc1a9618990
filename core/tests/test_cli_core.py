"""The core commands on the command line: parse, resolve, plugins, exit codes, one-line
errors without tracebacks, and no cloud SDK imported by --help, parse or resolve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from byob_core.cli import main

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY=="
ENC = quote(SECRET, safe="")
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSj+/=\n-----END PRIVATE KEY-----\n"
CLOUD_SDKS = ("s3fs", "gcsfs", "adlfs", "boto3", "botocore", "azure", "google")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_process(
    *argv: str, env: dict[str, str] | None = None, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ.pop("BYOB_DEBUG", None)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, *python, "-m", "byob_core", *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Instance on a file store with a sub-path, omega with its own store, kappa without."""
    path = tmp_path / "byob.toml"
    path.write_text(
        f"""
[instance]
store = "file://{tmp_path}/instance?subpath=wandb"

[teams.omega]
provider = "file"
bucket = "{tmp_path}/omega"
subpath = "teams/omega"

[teams.kappa]
"""
    )
    env = {"BYOB_CONFIG": str(path), "BYOB_DATA_DIR": str(tmp_path / "data")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GORILLA_SUPPORTED_FILE_STORES", raising=False)
    env["root"] = str(tmp_path)
    return env


class TestParse:
    def test_json_has_every_field_and_has_credentials_but_no_secret(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(
            capsys,
            "parse",
            f"s3://AKIAEXAMPLE:{ENC}@minio.local:9000/ml/wandb?region=us-east-1?tls=true",
            "--json",
        )
        assert code == 0, err
        data = json.loads(out)
        assert set(data) >= {
            "scheme",
            "provider",
            "bucket",
            "subpath",
            "region",
            "endpoint",
            "tls",
            "path_style",
            "account",
            "container",
            "service_account",
            "kms_key_arn",
            "tenant_id",
            "client_id",
            "has_credentials",
        }
        assert data["provider"] == "minio"
        assert (data["bucket"], data["subpath"], data["region"], data["tls"]) == (
            "ml",
            "wandb",
            "us-east-1",
            True,
        )
        assert data["has_credentials"] is True
        for hidden in (SECRET, ENC, "AKIAEXAMPLE"):
            assert hidden not in out + err

    def test_a_gcs_key_is_never_shown(self, capsys: pytest.CaptureFixture[str]) -> None:
        email = "byob@acme.iam.gserviceaccount.com"
        code, out, err = run(capsys, "parse", f"gs://{email}:{quote(PEM, safe='')}@bkt/p")
        assert code == 0
        assert email in out
        assert "MIIEvQ" not in out + err
        assert re.search(r"^has_credentials +True$", out, re.MULTILINE)

    def test_an_ambient_store_has_no_credentials(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "parse", "s3://acme-ml/wandb", "--json")
        assert code == 0
        assert json.loads(out)["has_credentials"] is False

    @pytest.mark.parametrize(
        ("uri", "names"),
        [
            ("minio:9000/b", "no scheme"),
            (f"s3://AK:{ENC}@minio:9000/b", "region is required"),
            ("s3://bkt/a/../b", "'..' path segment"),
            (f"az://user:{ENC}@acct/c", "empty user name"),
        ],
    )
    def test_bad_input_is_exit_2_with_one_line(
        self, capsys: pytest.CaptureFixture[str], uri: str, names: str
    ) -> None:
        code, out, err = run(capsys, "parse", uri)
        assert code == 2
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0]
        assert SECRET not in err and ENC not in err


class TestResolve:
    def test_without_team_the_instance_is_meant(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "resolve", "runs/a.bin", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert set(data) >= {"team", "scope", "provider", "bucket", "key", "url"}
        root = configured["root"]
        assert data == data | {
            "team": None,
            "scope": "instance",
            "provider": "file",
            "bucket": f"{root}/instance",
            "key": "wandb/runs/a.bin",
            "url": f"file://{root}/instance/wandb/runs/a.bin",
        }

    def test_a_team_with_its_own_store(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "resolve", "--team", "omega", "runs/a.bin", "--json")
        data = json.loads(out)
        assert code == 0
        assert (data["team"], data["scope"], data["key"]) == (
            "omega",
            "team",
            "teams/omega/runs/a.bin",
        )

    def test_a_team_without_a_store_falls_back_to_the_instance(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        data = json.loads(run(capsys, "resolve", "--team", "kappa", "x", "--json")[1])
        assert (data["team"], data["scope"], data["key"]) == ("kappa", "instance", "wandb/x")

    def test_the_native_url_of_a_cloud_store(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "c.toml"
        path.write_text('[instance]\nstore = "s3://acme-ml/wandb"\n')
        code, out, _ = run(capsys, "resolve", "--config", str(path), "runs/a b.bin", "--json")
        data = json.loads(out)
        assert code == 0
        assert (data["provider"], data["bucket"], data["url"]) == (
            "aws",
            "acme-ml",
            "s3://acme-ml/wandb/runs/a b.bin",
        )

    def test_text_output(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "resolve", "x")
        assert code == 0
        assert "scope     instance" in out

    @pytest.mark.parametrize(
        "key", ["../x", "a//b", "%2e%2e/x", "/etc/passwd", "a\\b", ".byob/store.json"]
    )
    def test_an_unsafe_key_is_exit_2(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str], key: str
    ) -> None:
        code, out, err = run(capsys, "resolve", key)
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")

    def test_a_bad_team_name_is_exit_2(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(capsys, "resolve", "--team", "../omega", "x")
        assert code == 2
        assert "invalid team name" in err

    def test_a_bad_configuration_is_exit_2_naming_the_key(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "bad.toml"
        path.write_text(f'[instance]\nstore = "s3://AK:{ENC}@minio:9000/b"\n')
        code, _, err = run(capsys, "resolve", "--config", str(path), "x")
        assert code == 2
        assert "instance.store" in err and "region is required" in err
        assert SECRET not in err and ENC not in err
        assert len(err.strip().splitlines()) == 1


class TestExitCodes:
    def test_a_failed_check_is_exit_1(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "validate", "--json")  # nothing provisioned yet
        assert code == 1
        assert json.loads(out)["ok"] is False

    def test_success_is_exit_0(
        self, configured: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(capsys, "plugins")[0] == 0

    def test_an_unknown_command_is_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(capsys, "frobnicate")[0] == 2

    def test_no_command_prints_help_and_is_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys)
        assert code == 2
        assert "usage:" in out


class TestInAFreshProcess:
    @pytest.mark.parametrize(
        "argv",
        [
            ("parse", "s3://AK:wJalrXUtnFEMIK7MDENG@minio:9000/b"),
            ("parse", "nonsense"),
            ("resolve", "../x"),
            ("resolve", "--team", "_bad", "x"),
            ("resolve", "--config", "/nonexistent/byob.toml", "x"),
            ("frobnicate",),
            ("sign", "--at", "yesterday", "x"),
        ],
    )
    def test_bad_input_is_exit_2_without_a_traceback(
        self, argv: tuple[str, ...], tmp_path: Path
    ) -> None:
        result = run_process(*argv, env={"BYOB_DATA_DIR": str(tmp_path), "BYOB_CONFIG": ""})
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
        assert "error:" in result.stderr
        assert "wJalrXUtnFEMIK7MDENG" not in result.stderr

    def test_version(self) -> None:
        result = run_process("--version")
        assert result.returncode == 0
        assert result.stdout.startswith("byob-core ")


def imported_modules(stderr: str) -> set[str]:
    """Top-level module names from ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":
                names.add(name.split(".")[0])
    return names


class TestNoCloudSdkImported:
    @pytest.fixture
    def cloud_config(self, tmp_path: Path) -> dict[str, str]:
        """A configuration full of cloud stores: resolving must still import no SDK."""
        path = tmp_path / "cloud.toml"
        path.write_text(
            f"""
[instance]
store = "s3://acme-ml/wandb"
[teams.g]
store = "gs://g-bucket/omega"
[teams.z]
store = "az://:{ENC}@acct/c/z"
"""
        )
        return {
            "BYOB_CONFIG": str(path),
            "BYOB_DATA_DIR": str(tmp_path),
            "GORILLA_SUPPORTED_FILE_STORES": f"gs://g-bucket,az://:{ENC}@acct/c",
        }

    @pytest.mark.parametrize(
        "argv",
        [
            ("--help",),
            ("parse", f"s3://AK:{ENC}@s3.eu-west-1.amazonaws.com/b/sub", "--json"),
            ("parse", "gs://bkt/p"),
            ("parse", f"az://:{ENC}@acct/c"),
            ("resolve", "runs/a.bin", "--json"),
            ("resolve", "--team", "g", "runs/a.bin"),
            ("resolve", "--team", "z", "runs/a.bin"),
        ],
    )
    def test_help_parse_and_resolve_import_no_cloud_sdk(
        self, argv: tuple[str, ...], cloud_config: dict[str, str]
    ) -> None:
        result = run_process(*argv, env=cloud_config, python=("-X", "importtime"))
        assert result.returncode == 0, result.stderr[-2000:]
        modules = imported_modules(result.stderr)
        assert "byob_core" in modules  # the measurement itself works
        assert not modules & set(CLOUD_SDKS), sorted(modules & set(CLOUD_SDKS))
